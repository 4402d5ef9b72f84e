"""TrafficSplit's shell: one pass (reconciler), its SageMaker weight calls (weights) and
what it reports (report)."""
