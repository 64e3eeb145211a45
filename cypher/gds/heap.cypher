// Heap of the Neo4j JVM in use now (gds.debug.sysInfo keys in $keys), and the bytes held by
// the in-memory graphs whose name starts with $prefix.
CALL gds.debug.sysInfo()
YIELD key, value
WITH key, value
WHERE key IN [$keys.total, $keys.free, $keys.max]
WITH max(CASE WHEN key = $keys.total THEN value END) AS total,
  max(CASE WHEN key = $keys.free THEN value END) AS free,
  max(CASE WHEN key = $keys.max THEN value END) AS max_heap
CALL (total) {
  CALL gds.graph.list()
  YIELD graphName, sizeInBytes
  WITH graphName, sizeInBytes
  WHERE graphName STARTS WITH $prefix
  RETURN sum(sizeInBytes) AS graphs
}
RETURN total - free AS used_heap, max_heap, graphs AS graph_bytes
