// Public hubs: items shared by more customers than their layer's threshold $k
// (layer 1 devices, 2 identifiers, 3 counterparties).
CALL () {
  MATCH (c:Customer)-[:USES_DEVICE]->(i:Device)
  WITH i, count(DISTINCT c) AS n
  WHERE n > $k.devices
  RETURN 1 AS layer, i.device_id AS item_id, null AS kind, n AS n_customers
  UNION ALL
  MATCH (c:Customer)-[:HAS_IDENTIFIER]->(i:Identifier)
  WITH i, count(DISTINCT c) AS n
  WHERE n > $k.identifiers
  RETURN 2 AS layer, i.identifier_id AS item_id, i.kind AS kind, n AS n_customers
  UNION ALL
  MATCH (c:Customer)-[:OWNS]->(:Account)-[:PAYS]->(i:Counterparty)
  WITH i, count(DISTINCT c) AS n
  WHERE n > $k.counterparties
  RETURN 3 AS layer, i.counterparty_id AS item_id, null AS kind, n AS n_customers
}
RETURN layer, item_id, kind, n_customers
