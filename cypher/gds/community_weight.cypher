// Per customer, the weight of its relationship-graph edges that stay inside its own
// community ($community: the mutated community id; each undirected edge is streamed once
// from each end).
CALL gds.graph.relationshipProperty.stream($graph, $property, $types)
YIELD sourceNodeId, targetNodeId, propertyValue
WITH sourceNodeId, targetNodeId, propertyValue
WHERE gds.util.nodeProperty($graph, sourceNodeId, $community) =
  gds.util.nodeProperty($graph, targetNodeId, $community)
RETURN gds.util.asNode(sourceNodeId).customer_id AS customer_id, sum(propertyValue) AS value
