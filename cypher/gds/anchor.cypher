// Any node that is not a customer: the projection joins it to every known-fraud customer
// (in memory only), so one shortest-path search from it gives every customer's hops to
// known fraud.
MATCH (x)
WHERE NOT x:Customer
RETURN elementId(x) AS anchor
LIMIT 1
