// Version of the Graph Data Science library; fails when GDS is not installed or not allowed
// (dbms.security.procedures.unrestricted=gds.*).
RETURN gds.version() AS version
