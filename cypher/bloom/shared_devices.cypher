// bloom-phrase: Customers sharing devices with $customerId
// bloom-param: customerId String Customer.customer_id
// Bloom search phrase "Customers sharing devices with $customerId": the customer, the
// devices it uses and every other customer using one of them.
MATCH (c:Customer {customer_id: $customerId})-[u:USES_DEVICE]->(d:Device)<-[v:USES_DEVICE]-(o:Customer)
WHERE o <> c
RETURN c, u, d, v, o
