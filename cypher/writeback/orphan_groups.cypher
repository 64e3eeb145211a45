// Delete Community and Ring nodes without members (one page; repeat until 0).
MATCH (g)
WHERE g:Community OR g:Ring
OPTIONAL MATCH (g)<-[m:MEMBER_OF]-(:Customer)
WITH g, count(m) AS members
WHERE members = 0
WITH g LIMIT $limit
DETACH DELETE g
RETURN count(*) AS rows
