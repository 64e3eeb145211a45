// One batch of Identifier nodes. row: {identifier_id, props: {property: value}}; a null value removes it.
UNWIND $rows AS row
MERGE (n:Identifier {identifier_id: row.identifier_id})
SET n += row.props
RETURN count(*) AS rows
