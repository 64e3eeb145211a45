// bloom-phrase: High-risk customers
// Bloom search phrase "High-risk customers": the 50 customers with the highest risk
// score among those labelled HighRisk, with the rings they belong to.
MATCH (c:Customer:HighRisk)
WITH c
ORDER BY c.gp_risk DESC
LIMIT 50
OPTIONAL MATCH (c)-[m:MEMBER_OF]->(g:Ring)
RETURN c, m, g
