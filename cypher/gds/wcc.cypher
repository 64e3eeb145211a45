// Components of the customer / shared-item graph: customers with their component, and the
// shared devices (layer 1) and identifiers (layer 2) with theirs and their customer count.
CALL gds.wcc.stream($graph, $config)
YIELD nodeId, componentId
WITH gds.util.asNode(nodeId) AS x, componentId
RETURN componentId AS component, x.customer_id AS customer_id,
  coalesce(x.device_id, x.identifier_id) AS item_id,
  CASE WHEN x:Device THEN 1 WHEN x:Identifier THEN 2 ELSE 0 END AS layer,
  x.kind AS kind,
  CASE WHEN x:Customer THEN 0
    ELSE COUNT { MATCH (x)<-[:USES_DEVICE|HAS_IDENTIFIER]-(c:Customer) RETURN DISTINCT c }
  END AS n_customers
