// Leiden communities (Traag et al. 2019) written into the in-memory graph as a node
// property ($config: nodeLabels, relationshipTypes, relationshipWeightProperty, gamma,
// randomSeed, concurrency 1, mutateProperty, ...).
CALL gds.leiden.mutate($graph, $config)
YIELD communityCount, modularity, ranLevels
RETURN communityCount AS communities, modularity, ranLevels AS levels
