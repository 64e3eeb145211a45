// bloom-phrase: Why is $customerId high risk
// bloom-param: customerId String Customer.customer_id
// Bloom search phrase "Why is $customerId high risk": the evidence behind a customer's
// risk score, as paths from the customer: the rings it belongs to with their members,
// devices and identifiers it shares with others (public hubs used by more than 50
// customers left out), and transfers with known-fraud or high-risk customers.
MATCH (c:Customer {customer_id: $customerId})
OPTIONAL MATCH ring = (c)-[:MEMBER_OF]->(:Ring)<-[:MEMBER_OF]-(:Customer)
WITH c, collect(ring) AS rings
OPTIONAL MATCH shared = (c)-[:USES_DEVICE|HAS_IDENTIFIER]->(x)<-[:USES_DEVICE|HAS_IDENTIFIER]-(o:Customer)
WHERE o <> c AND coalesce(x.n_customers, 0) <= 50
WITH c, rings, collect(shared) AS shares
OPTIONAL MATCH money = (c)-[:OWNS]->(:Account)-[:TRANSFER]-(:Account)<-[:OWNS]-(f:Customer)
WHERE f <> c AND (f.known_fraud = true OR f:HighRisk)
WITH c, rings, shares, collect(money) AS flows
WITH c, rings + shares + flows AS evidence
UNWIND CASE WHEN size(evidence) = 0 THEN [null] ELSE evidence END AS p
RETURN c, p
