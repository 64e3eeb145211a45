// The account money-flow graph in GDS: every account, one directed relationship per
// TRANSFER (from, to) pair weighted by its total amount.
CALL () {
  MATCH (a:Account)
  RETURN a AS s, null AS t, 0.0 AS amount
  UNION ALL
  MATCH (a:Account)-[r:TRANSFER]->(b:Account)
  RETURN a AS s, b AS t, toFloat(r.total_amount) AS amount
}
WITH gds.graph.project($graph, s, t, {
  relationshipType: $rel_type,
  relationshipProperties: {amount: amount}
}, {readConcurrency: $concurrency}) AS g
RETURN g.graphName AS graph, g.nodeCount AS nodes, g.relationshipCount AS relationships
