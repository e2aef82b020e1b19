"""Bytes to model: LSNs, CRCs, pg_control, timeline history and WAL. No subprocess, no psycopg."""
