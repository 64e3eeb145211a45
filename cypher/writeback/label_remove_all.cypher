// Take a graphprofile label that this run does not assert off every customer
// (one page; repeat until 0).
MATCH (c:Customer:__LABEL__)
WITH c LIMIT $limit
REMOVE c:__LABEL__
RETURN count(*) AS rows
