// bloom-phrase: Rings with risk above $min
// bloom-param: min Float
// Bloom search phrase "Rings with risk above $min": rings whose risk (0..1) is at least
// $min, riskiest first, with their members.
MATCH (g:Ring)
WHERE g.risk >= toFloat($min)
WITH g
ORDER BY g.risk DESC
LIMIT 100
OPTIONAL MATCH (g)<-[m:MEMBER_OF]-(c:Customer)
RETURN g, m, c
