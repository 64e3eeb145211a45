// Delete Community and Ring nodes this run did not write (one page; repeat until 0).
MATCH (g)
WHERE (g:Community OR g:Ring) AND (g.gp_run_id IS NULL OR g.gp_run_id <> $run_id)
WITH g LIMIT $limit
DETACH DELETE g
RETURN count(*) AS rows
