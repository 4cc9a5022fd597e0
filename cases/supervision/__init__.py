"""Supervision cases, their visits and plan, the rules table and the missed-visit scan."""
