// One batch of Customer nodes. row: {customer_id, props: {property: value}}; a null value removes it.
UNWIND $rows AS row
MERGE (n:Customer {customer_id: row.customer_id})
SET n += row.props
RETURN count(*) AS rows
