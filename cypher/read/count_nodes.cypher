// Number of __LABEL__ nodes.
MATCH (n:__LABEL__)
RETURN count(n) AS n
