// PageRank of the accounts on the money-flow graph, summed into their owners (customer id
// null: the accounts nobody owns); total is the sum over every account.
CALL gds.pageRank.stream($graph, $config)
YIELD nodeId, score
WITH gds.util.asNode(nodeId) AS a, score
OPTIONAL MATCH (c:Customer)-[:OWNS]->(a)
RETURN c.customer_id AS customer_id, sum(score) AS value
