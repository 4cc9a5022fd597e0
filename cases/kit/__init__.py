"""The domain's shared kit: base repository, paging, caching, column types, errors, the actor and the audit log."""
