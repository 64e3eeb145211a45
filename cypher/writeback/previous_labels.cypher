// Labels that earlier runs put on customers (so they can be taken off again).
MATCH (r:GraphProfileRun)
WHERE r.labels IS NOT NULL
UNWIND r.labels AS label
RETURN DISTINCT label
