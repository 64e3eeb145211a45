// Relationship-graph edges whose two ends are both in $members (a map whose keys are
// customer ids: one hash lookup per end), each pair once.
CALL gds.graph.relationships.stream($graph, $types)
YIELD sourceNodeId, targetNodeId
WITH sourceNodeId, targetNodeId
WHERE sourceNodeId < targetNodeId
WITH gds.util.asNode(sourceNodeId).customer_id AS a, targetNodeId
WHERE $members[a] IS NOT NULL
WITH a, gds.util.asNode(targetNodeId).customer_id AS b
WHERE $members[b] IS NOT NULL
RETURN a, b
