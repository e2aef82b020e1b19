"""Declarative byte layouts (C field lists), one per PostgreSQL major: no I/O, no model, no behaviour."""
