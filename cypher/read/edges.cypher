// The __TYPE__ relationships leaving the __SRC__ nodes whose keys are in $keys.
UNWIND $keys AS k
MATCH (a:__SRC__ {__SRC_KEY__: k})-[r:__TYPE__]->(b:__DST__)
RETURN a.__SRC_KEY__ AS src, b.__DST_KEY__ AS dst, properties(r) AS props
