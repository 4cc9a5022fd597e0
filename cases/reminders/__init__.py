"""Reminders: the outbox, its policy and templates, dispatch, delivery and operators' actions."""
