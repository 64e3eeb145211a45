// Put a graphprofile label (__LABEL__: Influencer, RingMember, HighRisk...) on customers.
UNWIND $rows AS row
MATCH (c:Customer {customer_id: row.customer_id})
SET c:__LABEL__
RETURN count(*) AS rows
