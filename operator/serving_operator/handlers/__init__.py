"""kopf handlers, one module per kind: parse the body, reconcile, write status and events."""
