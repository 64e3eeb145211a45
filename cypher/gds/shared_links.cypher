// Customers and the devices (layer 1) and identifiers (layer 2) they share with another
// customer, hubs excluded ($k): the item links of the known-fraud evidence graph.
CALL () {
  MATCH (c:Customer)-[:USES_DEVICE]->(i:Device)
  WITH i, collect(DISTINCT c) AS cs
  WHERE size(cs) >= 2 AND size(cs) <= $k.devices
  UNWIND cs AS c
  RETURN c.customer_id AS customer_id, i.device_id AS item_id, 1 AS layer, null AS kind,
    size(cs) AS n_customers
  UNION ALL
  MATCH (c:Customer)-[:HAS_IDENTIFIER]->(i:Identifier)
  WITH i, collect(DISTINCT c) AS cs
  WHERE size(cs) >= 2 AND size(cs) <= $k.identifiers
  UNWIND cs AS c
  RETURN c.customer_id AS customer_id, i.identifier_id AS item_id, 2 AS layer, i.kind AS kind,
    size(cs) AS n_customers
}
RETURN customer_id, item_id, layer, kind, n_customers
