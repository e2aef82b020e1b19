"""Read-only views of clusters: a data directory, a source (local or live), connection strings, settings."""
