// Not a search phrase: property names on a sample of customers, so the perspective
// generated with --store lists extra source columns too.
MATCH (c:Customer)
WITH c LIMIT 1000
UNWIND keys(c) AS key
RETURN DISTINCT key
ORDER BY key
