// One batch of Community nodes. row: {community_id, props: {size, density, ...}}.
UNWIND $rows AS row
MERGE (k:Community {community_id: row.community_id})
SET k += row.props, k.gp_run_id = $run_id
RETURN count(*) AS rows
