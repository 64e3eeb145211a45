// One batch of USES_DEVICE relationships. row: {customer_id, device_id, props: {...}}.
// Rows whose end nodes are missing are not written (and not counted in rows).
UNWIND $rows AS row
MATCH (a:Customer {customer_id: row.customer_id})
MATCH (b:Device {device_id: row.device_id})
MERGE (a)-[r:USES_DEVICE]->(b)
SET r += row.props
RETURN count(*) AS rows
