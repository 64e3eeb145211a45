// One batch of Account nodes. row: {account_id, props: {property: value}}; a null value removes it.
UNWIND $rows AS row
MERGE (n:Account {account_id: row.account_id})
SET n += row.props
RETURN count(*) AS rows
