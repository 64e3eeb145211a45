// Take a graphprofile label off customers of this run whose tag no longer holds.
UNWIND $rows AS row
MATCH (c:Customer {customer_id: row.customer_id})
REMOVE c:__LABEL__
RETURN count(*) AS rows
