// One node property of the customers in an in-memory graph, by customer id.
CALL gds.graph.nodeProperty.stream($graph, $property, $labels)
YIELD nodeId, propertyValue
RETURN gds.util.asNode(nodeId).customer_id AS customer_id, propertyValue AS value
