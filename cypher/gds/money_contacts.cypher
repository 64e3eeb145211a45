// Distinct money contacts of every customer who has any: customers whose accounts
// sent money to, or received money from, one of theirs.
MATCH (c:Customer)-[:OWNS]->(:Account)-[:TRANSFER]-(:Account)<-[:OWNS]-(o:Customer)
WHERE o <> c
RETURN c.customer_id AS customer_id, count(DISTINCT o) AS contacts
