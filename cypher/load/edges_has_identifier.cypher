// One batch of HAS_IDENTIFIER relationships. row: {customer_id, identifier_id, props: {...}}.
// Rows whose end nodes are missing are not written (and not counted in rows).
UNWIND $rows AS row
MATCH (a:Customer {customer_id: row.customer_id})
MATCH (b:Identifier {identifier_id: row.identifier_id})
MERGE (a)-[r:HAS_IDENTIFIER]->(b)
SET r += row.props
RETURN count(*) AS rows
