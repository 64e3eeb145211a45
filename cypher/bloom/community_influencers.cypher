// bloom-phrase: Top influencers in community $communityId
// bloom-param: communityId String Community.community_id
// Bloom search phrase "Top influencers in community $communityId": the ten members of
// the community with the highest PageRank. Ids are compared as text, so the phrase
// works whether community ids were written as integers or strings.
MATCH (k:Community)
WHERE toString(k.community_id) = toString($communityId)
MATCH (k)<-[m:MEMBER_OF]-(c:Customer)
WITH k, m, c
ORDER BY c.gp_pagerank DESC
LIMIT 10
RETURN k, m, c
