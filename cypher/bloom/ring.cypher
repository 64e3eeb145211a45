// bloom-phrase: Ring $ringId
// bloom-param: ringId String Ring.ring_id
// Bloom search phrase "Ring $ringId": the ring, its members, their accounts, the devices
// and identifiers members share, and the transfers between members' accounts.
MATCH (g:Ring {ring_id: $ringId})<-[m:MEMBER_OF]-(c:Customer)
OPTIONAL MATCH (c)-[o:OWNS]->(a:Account)
OPTIONAL MATCH (c)-[s:USES_DEVICE|HAS_IDENTIFIER]->(x)<-[:USES_DEVICE|HAS_IDENTIFIER]-(peer:Customer)-[:MEMBER_OF]->(g)
WHERE peer <> c
OPTIONAL MATCH (a)-[t:TRANSFER]->(b:Account)<-[:OWNS]-(:Customer)-[:MEMBER_OF]->(g)
RETURN g, m, c, o, a, s, x, t, b
