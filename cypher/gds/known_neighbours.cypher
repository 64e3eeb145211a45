// Customers next to a known-fraud customer in the relationship graph, with that neighbour.
CALL gds.graph.relationships.stream($graph, $types)
YIELD sourceNodeId, targetNodeId
WITH sourceNodeId, gds.util.asNode(targetNodeId) AS t
WHERE t.known_fraud = true
RETURN gds.util.asNode(sourceNodeId).customer_id AS customer_id, t.customer_id AS known
