// One page of customers by id (keyset paging: $after is the last id of the previous page,
// null for the first): id and known-fraud flag only.
MATCH (c:Customer)
WHERE $after IS NULL OR c.customer_id > $after
RETURN c.customer_id AS key, coalesce(c.known_fraud, false) AS known_fraud
ORDER BY key
LIMIT $limit
