// One batch of customer results. row: {customer_id, props: {gp_...: value}}; a null
// value removes the property. Customers missing from the graph are skipped (not counted).
UNWIND $rows AS row
MATCH (c:Customer {customer_id: row.customer_id})
SET c += row.props, c.gp_run_id = $run_id
RETURN count(*) AS rows
