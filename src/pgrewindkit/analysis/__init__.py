"""Decisions that never write: divergence, pg_rewind's plan, forensic inspection."""
