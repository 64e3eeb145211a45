// One page of accounts by id with their owner and opening time.
MATCH (a:Account)
WHERE $after IS NULL OR a.account_id > $after
WITH a
ORDER BY a.account_id
LIMIT $limit
OPTIONAL MATCH (c:Customer)-[:OWNS]->(a)
RETURN a.account_id AS key, c.customer_id AS customer_id, a.opened_at AS opened_at
ORDER BY key
