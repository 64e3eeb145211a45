// Betweenness of the customers (unweighted; sampled when $config has samplingSize and
// samplingSeed; Brandes 2001, Brandes & Pich 2007).
CALL gds.betweenness.stream($graph, $config)
YIELD nodeId, score
RETURN gds.util.asNode(nodeId).customer_id AS customer_id, score AS value
