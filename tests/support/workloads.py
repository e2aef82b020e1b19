"""SQL workloads that servers of every major run: the WAL fixtures' (fixtures/generate.py) and the
integration tests that compare each major's own tools on them."""

from __future__ import annotations


def wal_workload(major: int, compressions: list[str]) -> list[str]:
    """Statements that run on every major 10–18; ``compressions``: wal_compression values to cycle."""
    dbstrategy = " STRATEGY = FILE_COPY" if major >= 15 else ""
    statements = [
        "CREATE TABLE wal_t (id int PRIMARY KEY, v text, n int)",
        "INSERT INTO wal_t SELECT g, md5(g::text), g FROM generate_series(1, 2000) g",
        "CHECKPOINT",
        "UPDATE wal_t SET n = n + 1 WHERE id % 10 = 0",
        "UPDATE wal_t SET id = id + 100000 WHERE id % 97 = 0",
        "DELETE FROM wal_t WHERE id % 13 = 0",
        "CREATE TABLE wal_idx (a int[], p point, t text)",
        "INSERT INTO wal_idx SELECT ARRAY[g, g + 1], point(g, g), md5(g::text) FROM generate_series(1, 400) g",
        "CREATE INDEX wal_idx_gin ON wal_idx USING gin (a)",
        "CREATE INDEX wal_idx_gist ON wal_idx USING gist (p)",
        "CREATE INDEX wal_idx_spgist ON wal_idx USING spgist (t)",
        "CREATE INDEX wal_idx_brin ON wal_idx USING brin (t)",
        "CREATE INDEX wal_idx_hash ON wal_idx USING hash (t)",
        "INSERT INTO wal_idx SELECT ARRAY[g], point(g, -g), md5((-g)::text) FROM generate_series(1, 300) g",
        "CREATE SEQUENCE wal_s",
        "SELECT count(nextval('wal_s')) FROM generate_series(1, 100)",
        "BEGIN; INSERT INTO wal_t VALUES (-10, 'sub', 0); SAVEPOINT s1; INSERT INTO wal_t VALUES (-11, 'sub', 0);"
        " RELEASE s1; COMMIT",
        "BEGIN; INSERT INTO wal_t VALUES (-1, 'prepared', 0); PREPARE TRANSACTION 'pgrk_commit'",
        "COMMIT PREPARED 'pgrk_commit'",
        "BEGIN; INSERT INTO wal_t VALUES (-2, 'prepared', 0); PREPARE TRANSACTION 'pgrk_abort'",
        "ROLLBACK PREPARED 'pgrk_abort'",
        "BEGIN; INSERT INTO wal_t VALUES (-3, 'aborted', 0); ROLLBACK",
        "CREATE TABLE wal_trunc AS SELECT * FROM wal_t",
        "DELETE FROM wal_trunc WHERE id NOT BETWEEN 1 AND 500",
        "VACUUM wal_trunc",  # gives back the emptied tail: a Storage TRUNCATE record
        "TRUNCATE wal_trunc",
        "VACUUM wal_t",
    ]
    for method in compressions:
        # each statement has its own session: the setting goes with the update it is for
        statements += ["CHECKPOINT", f"SET wal_compression = {method}; UPDATE wal_t SET n = n + 1 WHERE id % 3 = 0"]
    statements += [
        "SELECT pg_logical_emit_message(true, 'pgrk', repeat('m', 2500000))",
        "SELECT pg_logical_emit_message(false, 'pgrk', 'small')",
        "SELECT pg_create_restore_point('pgrk')",
        f"CREATE DATABASE wal_db{dbstrategy}",
        "DROP DATABASE wal_db",
        "SELECT pg_switch_wal()",
        "INSERT INTO wal_t VALUES (-4, 'after the switch', 0)",
        "DROP TABLE wal_trunc",
        "CHECKPOINT",
    ]
    return statements
