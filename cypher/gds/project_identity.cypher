// Customers and the devices and identifiers they share (two or more customers, no more
// than the hub threshold $k of the layer): shared-identifier rings are its components.
CALL () {
  MATCH (c:Customer)-[:USES_DEVICE]->(i:Device)
  WITH i, collect(DISTINCT c) AS cs
  WHERE size(cs) >= 2 AND size(cs) <= $k.devices
  UNWIND cs AS c
  RETURN c, i
  UNION ALL
  MATCH (c:Customer)-[:HAS_IDENTIFIER]->(i:Identifier)
  WITH i, collect(DISTINCT c) AS cs
  WHERE size(cs) >= 2 AND size(cs) <= $k.identifiers
  UNWIND cs AS c
  RETURN c, i
}
WITH gds.graph.project($graph, c, i, {
  sourceNodeLabels: $customer_labels,
  targetNodeLabels: labels(i),
  relationshipType: $rel_type
}, {undirectedRelationshipTypes: [$rel_type], readConcurrency: $concurrency}) AS g
RETURN g.graphName AS graph, g.nodeCount AS nodes, g.relationshipCount AS relationships
