// Remove every gp_ property ($nulls maps each name to null, gp_run_id included) from
// customers an earlier run wrote and this run did not (one page; repeat until 0).
MATCH (c:Customer)
WHERE c.gp_run_id IS NOT NULL AND c.gp_run_id <> $run_id
WITH c LIMIT $limit
SET c += $nulls
RETURN count(*) AS rows
