// PageRank personalised on the known-fraud customers (Haveliwala 2002), weighted.
MATCH (k:Customer)
WHERE k.known_fraud = true
WITH collect(k) AS seeds
CALL gds.pageRank.stream($graph, {
  sourceNodes: seeds,
  nodeLabels: $labels,
  relationshipTypes: $types,
  relationshipWeightProperty: $weight,
  dampingFactor: $damping,
  maxIterations: $max_iterations,
  tolerance: $tolerance,
  concurrency: $concurrency
})
YIELD nodeId, score
RETURN gds.util.asNode(nodeId).customer_id AS customer_id, score AS value
