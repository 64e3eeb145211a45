// Not a search phrase: the range of gp_pagerank_pct, mapped to node size in Bloom.
MATCH (c:Customer)
WHERE c.gp_pagerank_pct IS NOT NULL
RETURN min(c.gp_pagerank_pct) AS low, max(c.gp_pagerank_pct) AS high
