"""Insured people under supervision: identity, contacts, consents."""
