"""EdgeModel planning: Neo compilation per target and staged Greengrass v2 rollouts."""
