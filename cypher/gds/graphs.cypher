// In-memory graphs of database $database whose name starts with $prefix: the projections of
// this run, or leftovers of a run that was interrupted before it could drop them.
CALL gds.graph.list()
YIELD graphName, database
WITH graphName, database
WHERE graphName STARTS WITH $prefix AND database = $database
RETURN graphName AS graph
ORDER BY graph
