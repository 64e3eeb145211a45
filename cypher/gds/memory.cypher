// Heap the projection needs by GDS's own estimate (for $nodes nodes and $relationships
// relationships), and the heap the server can still give (gds.debug.sysInfo keys in $keys).
CALL gds.graph.project.estimate($node_projection, $relationship_projection, {
  nodeCount: $nodes,
  relationshipCount: $relationships
})
YIELD requiredMemory, bytesMin, bytesMax
CALL gds.debug.sysInfo()
YIELD key, value
WITH requiredMemory, bytesMin, bytesMax, key, value
WHERE key IN [$keys.available, $keys.max]
WITH requiredMemory, bytesMin, bytesMax,
  max(CASE WHEN key = $keys.available THEN value END) AS free_heap,
  max(CASE WHEN key = $keys.max THEN value END) AS max_heap
RETURN requiredMemory AS required, bytesMin AS bytes_min, bytesMax AS bytes_max, free_heap,
  max_heap
