"""Planning of an InferenceComponent: pure, from its spec, its host endpoint and AWS's state."""
