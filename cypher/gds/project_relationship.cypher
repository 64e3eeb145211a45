// The customer relationship graph in GDS (Cypher projection: nothing is written to the
// database), with the layers and weights of graphprofile.analysis.projection:
//   money: customers whose accounts exchanged money, 2 / ln(2 + d), d the larger number
//     of distinct money contacts of the two ($contacts: customer_id -> contacts);
//   devices, identifiers: number of shared items; counterparties: sum of 1 / (n - 1)
//   over common counterparties paid by n customers; items shared by more than $k
//   customers of their layer are public hubs and link no one.
// weight = sum of the layers times $w; every customer is a node, isolated or not.
CALL () {
  MATCH (c:Customer)
  RETURN c AS a, null AS b, 0.0 AS money, 0.0 AS devices,
    0.0 AS identifiers, 0.0 AS counterparties
  UNION ALL
  MATCH (c1:Customer)-[:OWNS]->(:Account)-[:TRANSFER]-(:Account)<-[:OWNS]-(c2:Customer)
  WHERE c1.customer_id < c2.customer_id
  WITH DISTINCT c1, c2
  WITH c1, c2, coalesce($contacts[c1.customer_id], 1) AS d1,
    coalesce($contacts[c2.customer_id], 1) AS d2
  RETURN c1 AS a, c2 AS b,
    2.0 / log(2.0 + CASE WHEN d1 > d2 THEN d1 ELSE d2 END) AS money, 0.0 AS devices,
    0.0 AS identifiers, 0.0 AS counterparties
  UNION ALL
  MATCH (c:Customer)-[:USES_DEVICE]->(i:Device)
  WITH i, collect(DISTINCT c) AS cs
  WHERE size(cs) >= 2 AND size(cs) <= $k.devices
  UNWIND cs AS c1
  UNWIND cs AS c2
  WITH c1, c2
  WHERE c1.customer_id < c2.customer_id
  RETURN c1 AS a, c2 AS b, 0.0 AS money, 1.0 AS devices,
    0.0 AS identifiers, 0.0 AS counterparties
  UNION ALL
  MATCH (c:Customer)-[:HAS_IDENTIFIER]->(i:Identifier)
  WITH i, collect(DISTINCT c) AS cs
  WHERE size(cs) >= 2 AND size(cs) <= $k.identifiers
  UNWIND cs AS c1
  UNWIND cs AS c2
  WITH c1, c2
  WHERE c1.customer_id < c2.customer_id
  RETURN c1 AS a, c2 AS b, 0.0 AS money, 0.0 AS devices,
    1.0 AS identifiers, 0.0 AS counterparties
  UNION ALL
  MATCH (c:Customer)-[:OWNS]->(:Account)-[:PAYS]->(i:Counterparty)
  WHERE $w.counterparties > 0
  WITH i, collect(DISTINCT c) AS cs
  WHERE size(cs) >= 2 AND size(cs) <= $k.counterparties
  UNWIND cs AS c1
  UNWIND cs AS c2
  WITH c1, c2, size(cs) AS n
  WHERE c1.customer_id < c2.customer_id
  RETURN c1 AS a, c2 AS b, 0.0 AS money, 0.0 AS devices,
    0.0 AS identifiers, 1.0 / (n - 1) AS counterparties
}
WITH a, b, sum(money) AS money, sum(devices) AS devices,
  sum(identifiers) AS identifiers, sum(counterparties) AS counterparties
WITH a, b,
  $w.money * money + $w.devices * devices + $w.identifiers * identifiers +
  $w.counterparties * counterparties AS weight
WHERE b IS NULL OR weight > 0
WITH gds.graph.project($graph, a, b, {
  sourceNodeLabels: $customer_labels,
  targetNodeLabels: $customer_labels,
  relationshipType: $rel_type,
  relationshipProperties: {weight: weight}
}, {undirectedRelationshipTypes: [$rel_type], readConcurrency: $concurrency}) AS g
RETURN g.graphName AS graph, g.nodeCount AS nodes, g.relationshipCount AS relationships
