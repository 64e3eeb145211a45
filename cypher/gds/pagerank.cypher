// PageRank (Brin & Page 1998) of the customers, by customer id ($config: nodeLabels,
// relationshipTypes, relationshipWeightProperty, dampingFactor, maxIterations, tolerance).
CALL gds.pageRank.stream($graph, $config)
YIELD nodeId, score
RETURN gds.util.asNode(nodeId).customer_id AS customer_id, score AS value
