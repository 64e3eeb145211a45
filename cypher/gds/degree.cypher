// Degree (or, with relationshipWeightProperty, strength) of the customers.
CALL gds.degree.stream($graph, $config)
YIELD nodeId, score
RETURN gds.util.asNode(nodeId).customer_id AS customer_id, score AS value
