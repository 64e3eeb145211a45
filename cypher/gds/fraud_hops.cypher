// Hops from every reachable customer to the nearest known-fraud customer: one unweighted
// shortest-path search from the anchor, which the projection joins to every known-fraud
// customer (so the cost is hops + 1).
MATCH (x)
WHERE elementId(x) = $anchor
CALL gds.allShortestPaths.dijkstra.stream($graph, {
  sourceNode: x,
  relationshipTypes: $types,
  concurrency: $concurrency
})
YIELD targetNode, totalCost
WITH gds.util.asNode(targetNode) AS t, totalCost
WHERE t:Customer
RETURN t.customer_id AS customer_id, toInteger(totalCost) - 1 AS value
