"""ModelEndpoint planning: SageMaker models, endpoint configs, the endpoint and its autoscaling."""
