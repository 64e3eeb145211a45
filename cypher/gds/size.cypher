// Customers, and an upper bound on the relationship-graph edges: transfers plus the
// customer pairs of every non-hub shared item ($k: hub threshold per layer).
CALL () {
  MATCH (c:Customer)
  RETURN count(c) AS customers
}
CALL () {
  MATCH (:Account)-[r:TRANSFER]->(:Account)
  RETURN count(r) AS transfers
}
CALL () {
  MATCH (c:Customer)-[:USES_DEVICE]->(i:Device)
  WITH i, count(DISTINCT c) AS n
  WHERE n >= 2 AND n <= $k.devices
  RETURN sum(n * (n - 1) / 2) AS device_pairs
}
CALL () {
  MATCH (c:Customer)-[:HAS_IDENTIFIER]->(i:Identifier)
  WITH i, count(DISTINCT c) AS n
  WHERE n >= 2 AND n <= $k.identifiers
  RETURN sum(n * (n - 1) / 2) AS identifier_pairs
}
CALL () {
  MATCH (c:Customer)-[:OWNS]->(:Account)-[:PAYS]->(i:Counterparty)
  WITH i, count(DISTINCT c) AS n
  WHERE $w.counterparties > 0 AND n >= 2 AND n <= $k.counterparties
  RETURN sum(n * (n - 1) / 2) AS counterparty_pairs
}
RETURN customers, transfers + device_pairs + identifier_pairs + counterparty_pairs AS pairs
