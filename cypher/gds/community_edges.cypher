// Relationship-graph edges inside each community ($property: the mutated community id).
CALL gds.graph.relationships.stream($graph, $types)
YIELD sourceNodeId, targetNodeId
WITH sourceNodeId, targetNodeId
WHERE sourceNodeId < targetNodeId
WITH gds.util.nodeProperty($graph, sourceNodeId, $property) AS a,
  gds.util.nodeProperty($graph, targetNodeId, $property) AS b
WHERE a = b
RETURN a AS community, count(*) AS edges
