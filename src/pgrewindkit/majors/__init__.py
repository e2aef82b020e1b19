"""Everything that differs between PostgreSQL majors (and minors): one explicit row per major."""
