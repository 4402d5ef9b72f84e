"""EdgeModel planning: Neo compilations, Greengrass component versions, merged group
deployments and the staged rollout, all pure (time is an input)."""
