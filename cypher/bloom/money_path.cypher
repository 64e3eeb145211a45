// bloom-phrase: Money path from $a to $b
// bloom-param: a String Customer.customer_id
// bloom-param: b String Customer.customer_id
// Bloom search phrase "Money path from $a to $b": the shortest chain of transfers (up to
// 8 hops, following the direction money moved) from an account of customer $a to an
// account of customer $b, with both owners. shortestPath is used as an expression so
// the statement also runs on FalkorDB.
MATCH (a:Customer {customer_id: $a})-[o1:OWNS]->(x:Account)
MATCH (b:Customer {customer_id: $b})-[o2:OWNS]->(y:Account)
WHERE x <> y
WITH a, o1, b, o2, shortestPath((x)-[:TRANSFER*1..8]->(y)) AS p
WHERE p IS NOT NULL
RETURN a, o1, p, o2, b
ORDER BY length(p)
LIMIT 1
