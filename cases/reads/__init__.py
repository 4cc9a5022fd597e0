"""The SQL side of compiled reads: JSON built by PostgreSQL, page and driver statements."""
