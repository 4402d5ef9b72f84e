"""Pure planners: (desired spec, observed AWS state) -> plan of actions.

Nothing here imports kopf, boto3 or does I/O; tests/unit/test_layers.py keeps it that way.
"""
