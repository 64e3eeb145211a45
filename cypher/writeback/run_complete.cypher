// Close a write-back run: the last statement of write_back.
MATCH (r:GraphProfileRun {run_id: $run_id})
SET r += $summary, r.completed = true, r.completed_at = $completed_at
RETURN r.run_id AS run_id
