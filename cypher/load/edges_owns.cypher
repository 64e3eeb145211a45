// One batch of OWNS relationships. row: {customer_id, account_id, props: {...}}.
// Rows whose end nodes are missing are not written (and not counted in rows).
UNWIND $rows AS row
MATCH (a:Customer {customer_id: row.customer_id})
MATCH (b:Account {account_id: row.account_id})
MERGE (a)-[r:OWNS]->(b)
SET r += row.props
RETURN count(*) AS rows
