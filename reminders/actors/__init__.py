"""Dramatiq actors, one module per domain; importing this package declares them all on the broker."""

from reminders.actors import appeals, delivery, visits

__all__ = ["appeals", "delivery", "visits"]
