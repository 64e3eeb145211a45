// k-core number of the customers (undirected graph).
CALL gds.kcore.stream($graph, $config)
YIELD nodeId, coreValue
RETURN gds.util.asNode(nodeId).customer_id AS customer_id, coreValue AS value
