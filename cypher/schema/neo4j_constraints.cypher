// Neo4j 5 only: uniqueness constraints (each also creates the index MERGE needs).
// Idempotent (IF NOT EXISTS). FalkorDB equivalents: falkordb_indexes.cypher.
CREATE CONSTRAINT gp_customer_id IF NOT EXISTS FOR (n:Customer) REQUIRE n.customer_id IS UNIQUE;
CREATE CONSTRAINT gp_account_id IF NOT EXISTS FOR (n:Account) REQUIRE n.account_id IS UNIQUE;
CREATE CONSTRAINT gp_device_id IF NOT EXISTS FOR (n:Device) REQUIRE n.device_id IS UNIQUE;
CREATE CONSTRAINT gp_identifier_id IF NOT EXISTS FOR (n:Identifier) REQUIRE n.identifier_id IS UNIQUE;
CREATE CONSTRAINT gp_counterparty_id IF NOT EXISTS FOR (n:Counterparty) REQUIRE n.counterparty_id IS UNIQUE;
CREATE CONSTRAINT gp_community_id IF NOT EXISTS FOR (n:Community) REQUIRE n.community_id IS UNIQUE;
CREATE CONSTRAINT gp_ring_id IF NOT EXISTS FOR (n:Ring) REQUIRE n.ring_id IS UNIQUE;
CREATE CONSTRAINT gp_run_id IF NOT EXISTS FOR (n:GraphProfileRun) REQUIRE n.run_id IS UNIQUE;
CREATE INDEX gp_customer_run IF NOT EXISTS FOR (n:Customer) ON (n.gp_run_id);
