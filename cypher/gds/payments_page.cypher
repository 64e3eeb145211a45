// The PAYS relationships leaving one page of accounts: per-transaction lists only (for
// pass-through sums and activity), and whether the counterparty's kind names a cash-out
// channel (any of $cash_kinds, case-insensitive).
MATCH (a:Account)
WHERE $after IS NULL OR a.account_id > $after
WITH a
ORDER BY a.account_id
LIMIT $limit
OPTIONAL MATCH (a)-[r:PAYS]->(p:Counterparty)
RETURN a.account_id AS key, p.counterparty_id AS counterparty_id,
  coalesce(any(k IN $cash_kinds WHERE toLower(p.kind) CONTAINS k), false) AS cash_out,
  r.txn_ids AS txn_ids, r.amounts AS amounts, r.ts AS ts
