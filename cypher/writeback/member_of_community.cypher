// One batch of (:Customer)-[:MEMBER_OF]->(:Community). row: {customer_id, community_id}.
UNWIND $rows AS row
MATCH (c:Customer {customer_id: row.customer_id})
MATCH (k:Community {community_id: row.community_id})
MERGE (c)-[m:MEMBER_OF]->(k)
SET m.gp_run_id = $run_id
RETURN count(*) AS rows
