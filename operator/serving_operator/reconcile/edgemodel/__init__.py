"""EdgeModel's shell: one pass (reconciler) and what it reports (report)."""
