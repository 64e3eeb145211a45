// One page of __LABEL__ nodes ordered by key (keyset paging: pass the last key as $after,
// null for the first page).
MATCH (n:__LABEL__)
WHERE $after IS NULL OR n.__KEY__ > $after
RETURN n.__KEY__ AS key, properties(n) AS props
ORDER BY key
LIMIT $limit
