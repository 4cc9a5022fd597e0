"""What every domain's schema package builds on: relay, context, errors, permissions, cost,
scalars, loaders and the base object types."""
