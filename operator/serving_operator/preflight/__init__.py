"""What must hold before the operator can work: Kubernetes access, CRDs, RBAC, AWS.

`serving-operator check` runs every check and prints one line each; `serving-operator run`
runs the fatal ones first and stops with the fix instead of a traceback.
"""
