// Per layer (1 devices, 2 identifiers, 3 counterparties): the $percentile (0..1) of the
// customer counts of items shared by two or more customers (graphprofile's hub rule).
CALL () {
  MATCH (c:Customer)-[:USES_DEVICE]->(i:Device)
  WITH i, count(DISTINCT c) AS n
  WHERE n >= 2
  RETURN 1 AS layer, percentileCont(n, $percentile) AS pct, count(i) AS shared
  UNION ALL
  MATCH (c:Customer)-[:HAS_IDENTIFIER]->(i:Identifier)
  WITH i, count(DISTINCT c) AS n
  WHERE n >= 2
  RETURN 2 AS layer, percentileCont(n, $percentile) AS pct, count(i) AS shared
  UNION ALL
  MATCH (c:Customer)-[:OWNS]->(:Account)-[:PAYS]->(i:Counterparty)
  WITH i, count(DISTINCT c) AS n
  WHERE n >= 2
  RETURN 3 AS layer, percentileCont(n, $percentile) AS pct, count(i) AS shared
}
RETURN layer, pct, shared
