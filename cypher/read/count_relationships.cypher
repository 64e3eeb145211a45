// Number of __TYPE__ relationships.
MATCH ()-[r:__TYPE__]->()
RETURN count(r) AS n
