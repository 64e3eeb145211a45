// Every gp_ property name present on any customer.
MATCH (c:Customer)
UNWIND keys(c) AS key
WITH DISTINCT key
WHERE key STARTS WITH 'gp_'
RETURN key
ORDER BY key
