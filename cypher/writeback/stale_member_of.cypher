// Delete MEMBER_OF relationships this run did not write (one page; repeat until 0).
MATCH (:Customer)-[m:MEMBER_OF]->()
WHERE m.gp_run_id IS NULL OR m.gp_run_id <> $run_id
WITH m LIMIT $limit
DELETE m
RETURN count(*) AS rows
