// One batch of PAYS relationships. row: {from_account, counterparty_id, props: {...}}.
// Aggregated money flow: props n_txns, total_amount, first_ts, last_ts (ISO 8601 UTC text).
// Rows whose end nodes are missing are not written (and not counted in rows).
UNWIND $rows AS row
MATCH (a:Account {account_id: row.from_account})
MATCH (b:Counterparty {counterparty_id: row.counterparty_id})
MERGE (a)-[r:PAYS]->(b)
SET r += row.props
RETURN count(*) AS rows
