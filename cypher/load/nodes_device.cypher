// One batch of Device nodes. row: {device_id, props: {property: value}}; a null value removes it.
UNWIND $rows AS row
MERGE (n:Device {device_id: row.device_id})
SET n += row.props
RETURN count(*) AS rows
