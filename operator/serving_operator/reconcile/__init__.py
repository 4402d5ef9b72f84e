"""The imperative shell between kopf and the planners: observe AWS, plan, execute.

Synchronous and free of kopf, so it runs the same in the operator and in tests.
"""
