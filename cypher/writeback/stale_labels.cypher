// Take a graphprofile label off customers this run did not write (one page; repeat until 0).
MATCH (c:Customer:__LABEL__)
WHERE c.gp_run_id IS NULL OR c.gp_run_id <> $run_id
WITH c LIMIT $limit
REMOVE c:__LABEL__
RETURN count(*) AS rows
