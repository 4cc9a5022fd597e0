"""Benchmarks of the API, the scan and the broker, each measured against its baseline in one run."""
