// The TRANSFER relationships leaving one page of accounts, with their aggregates and
// per-transaction lists (the money-flow detectors need individual transactions).
MATCH (a:Account)
WHERE $after IS NULL OR a.account_id > $after
WITH a
ORDER BY a.account_id
LIMIT $limit
OPTIONAL MATCH (a)-[r:TRANSFER]->(b:Account)
RETURN a.account_id AS key, b.account_id AS to_account, r.n_txns AS n_txns,
  r.total_amount AS total_amount, r.txn_ids AS txn_ids, r.amounts AS amounts, r.ts AS ts
