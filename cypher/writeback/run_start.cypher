// Open a write-back run. completed stays false until run_complete.cypher, so a Bloom
// user (or the next run) can tell an interrupted write-back from a finished one.
MERGE (r:GraphProfileRun {run_id: $run_id})
SET r += $meta, r.completed = false, r.started_at = $started_at
RETURN r.run_id AS run_id
