"""The only code that writes to a data directory or runs a PostgreSQL program."""
