// One batch of (:Customer)-[:MEMBER_OF]->(:Ring). row: {customer_id, ring_id}.
UNWIND $rows AS row
MATCH (c:Customer {customer_id: row.customer_id})
MATCH (g:Ring {ring_id: row.ring_id})
MERGE (c)-[m:MEMBER_OF]->(g)
SET m.gp_run_id = $run_id
RETURN count(*) AS rows
