// One batch of Counterparty nodes. row: {counterparty_id, props: {property: value}}; a null value removes it.
UNWIND $rows AS row
MERGE (n:Counterparty {counterparty_id: row.counterparty_id})
SET n += row.props
RETURN count(*) AS rows
