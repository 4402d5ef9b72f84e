"""The project's AWS sandbox: moto's server plus an overlay for what moto lacks.

Used by tests and `make demo`; the operator reaches it only through AWS_ENDPOINT_URL and
contains no special case for it. Needs the `sandbox` extra (moto[server]).
"""
