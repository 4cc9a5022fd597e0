"""What representatives act on: work items and contact attempts."""
