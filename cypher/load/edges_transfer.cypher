// One batch of TRANSFER relationships. row: {from_account, to_account, props: {...}}.
// Aggregated money flow: props n_txns, total_amount, first_ts, last_ts (ISO 8601 UTC text).
// Rows whose end nodes are missing are not written (and not counted in rows).
UNWIND $rows AS row
MATCH (a:Account {account_id: row.from_account})
MATCH (b:Account {account_id: row.to_account})
MERGE (a)-[r:TRANSFER]->(b)
SET r += row.props
RETURN count(*) AS rows
