"""Results to text or JSON: one module per result, the JSON shapes documented in docs/reference.md."""
