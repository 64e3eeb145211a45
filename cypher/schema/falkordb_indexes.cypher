// FalkorDB only: exact-match indexes for every MERGE key. FalkorDB has no
// IF NOT EXISTS here; apply_schema treats "already indexed" as done.
CREATE INDEX FOR (n:Customer) ON (n.customer_id);
CREATE INDEX FOR (n:Account) ON (n.account_id);
CREATE INDEX FOR (n:Device) ON (n.device_id);
CREATE INDEX FOR (n:Identifier) ON (n.identifier_id);
CREATE INDEX FOR (n:Counterparty) ON (n.counterparty_id);
CREATE INDEX FOR (n:Community) ON (n.community_id);
CREATE INDEX FOR (n:Ring) ON (n.ring_id);
CREATE INDEX FOR (n:GraphProfileRun) ON (n.run_id);
CREATE INDEX FOR (n:Customer) ON (n.gp_run_id);
