// One batch of Ring nodes. row: {ring_id, props: {kind, risk, reasons (JSON text), ...}}.
UNWIND $rows AS row
MERGE (g:Ring {ring_id: row.ring_id})
SET g += row.props, g.gp_run_id = $run_id
RETURN count(*) AS rows
