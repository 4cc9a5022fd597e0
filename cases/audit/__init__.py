"""The audit trail: every change and every card read, as an event naming its patient and insurer."""
