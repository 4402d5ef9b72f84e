"""TrafficSplit planning: fixed splits and progressive canaries between endpoint variants."""
