// Connectivity check: the database answers a statement.
RETURN 1 AS ok
