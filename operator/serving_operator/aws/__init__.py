"""Thin AWS adapters, one per service: boto3 calls, retries, rate limits, metrics."""
