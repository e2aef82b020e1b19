-- One round of the mixed-small-records workload (benchmarks/wal_mixed.py runs it until the WAL is
-- big enough): many record kinds, as PostgreSQL's regression suite writes them. Idempotent.
DROP TABLE IF EXISTS m_heap, m_gin, m_gist, m_spg, m_trunc, m_unl, m_part CASCADE;
DROP SEQUENCE IF EXISTS m_seq;
DROP MATERIALIZED VIEW IF EXISTS m_mv;
CREATE SEQUENCE m_seq CACHE 1;
CREATE TABLE m_heap (id int PRIMARY KEY, v text, n bigint DEFAULT nextval('m_seq'));
CREATE INDEX m_heap_v_hash ON m_heap USING hash (v);
CREATE INDEX m_heap_n_brin ON m_heap USING brin (n) WITH (pages_per_range = 1);
INSERT INTO m_heap (id, v) SELECT g, md5(g::text) FROM generate_series(1, 3000) g;
CREATE TABLE m_gin (id int, t tsvector, a int[]);
CREATE INDEX ON m_gin USING gin (t) WITH (fastupdate = off);
CREATE INDEX ON m_gin USING gin (a);
INSERT INTO m_gin SELECT g, to_tsvector('simple', md5(g::text) || ' w' || (g % 97)::text), ARRAY[g % 13, g % 7]
  FROM generate_series(1, 1500) g;
CREATE TABLE m_gist (id int, p point, b box);
CREATE INDEX ON m_gist USING gist (p);
CREATE INDEX ON m_gist USING gist (b);
INSERT INTO m_gist SELECT g, point(g % 100, g / 100), box(point(g, g), point(g + 1, g + 1))
  FROM generate_series(1, 1500) g;
CREATE TABLE m_spg (id int, t text, p point);
CREATE INDEX ON m_spg USING spgist (t);
CREATE INDEX ON m_spg USING spgist (p);
INSERT INTO m_spg SELECT g, md5(g::text), point(g % 50, g % 77) FROM generate_series(1, 1500) g;
CREATE TABLE m_part (id int, k int) PARTITION BY RANGE (k);
CREATE TABLE m_part_1 PARTITION OF m_part FOR VALUES FROM (0) TO (50);
CREATE TABLE m_part_2 PARTITION OF m_part FOR VALUES FROM (50) TO (100);
INSERT INTO m_part SELECT g, g % 100 FROM generate_series(1, 1000) g;
-- small transactions, one row each
DO $$ BEGIN FOR i IN 1..400 LOOP
  UPDATE m_heap SET v = v || 'u' WHERE id = i * 7;
  COMMIT;
END LOOP; END $$;
DO $$ BEGIN FOR i IN 1..300 LOOP
  INSERT INTO m_gist VALUES (i, point(i, i), box(point(i, 0), point(i + 2, 3)));
  COMMIT;
END LOOP; END $$;
UPDATE m_heap SET v = v || 'x' WHERE id % 10 = 0;
UPDATE m_heap SET n = n + 1 WHERE id % 11 = 0;
DELETE FROM m_heap WHERE id % 7 = 0;
DELETE FROM m_gin WHERE id % 5 = 0;
UPDATE m_spg SET t = t || 'z' WHERE id % 9 = 0;
-- subtransactions, some rolled back, and more than 64 in one transaction (XLOG_XACT_ASSIGNMENT)
DO $$ BEGIN FOR i IN 1..300 LOOP
  BEGIN
    INSERT INTO m_heap (id, v) VALUES (100000 + i, 'sub');
    IF i % 3 = 0 THEN RAISE EXCEPTION 'roll back'; END IF;
  EXCEPTION WHEN others THEN NULL;
  END;
END LOOP; END $$;
BEGIN;
SAVEPOINT a; INSERT INTO m_heap (id, v) VALUES (200000, 'sp');
SAVEPOINT b; INSERT INTO m_heap (id, v) VALUES (200001, 'sp'); ROLLBACK TO b;
RELEASE a;
COMMIT;
-- a multixact: a share lock, then an update in a subtransaction
BEGIN;
SELECT * FROM m_heap WHERE id = 1 FOR SHARE;
SAVEPOINT s; UPDATE m_heap SET v = 'multi' WHERE id = 1;
COMMIT;
-- two-phase commit
BEGIN; INSERT INTO m_heap (id, v) VALUES (300001, '2pc'); PREPARE TRANSACTION 'm_commit';
COMMIT PREPARED 'm_commit';
BEGIN; INSERT INTO m_heap (id, v) VALUES (300002, '2pc'); PREPARE TRANSACTION 'm_abort';
ROLLBACK PREPARED 'm_abort';
-- sequences
SELECT count(nextval('m_seq')) FROM generate_series(1, 300);
ALTER SEQUENCE m_seq RESTART WITH 5;
-- truncate, unlogged (init fork), materialized view
CREATE TABLE m_trunc AS SELECT g FROM generate_series(1, 2000) g;
TRUNCATE m_trunc;
INSERT INTO m_trunc SELECT g FROM generate_series(1, 100) g;
CREATE UNLOGGED TABLE m_unl AS SELECT g FROM generate_series(1, 100) g;
CREATE MATERIALIZED VIEW m_mv AS SELECT id % 10 AS k, count(*) FROM m_heap GROUP BY 1;
REFRESH MATERIALIZED VIEW m_mv;
-- maintenance
VACUUM m_heap;
VACUUM (FREEZE) m_gin;
VACUUM m_gist;
VACUUM m_spg;
ANALYZE m_heap;
CLUSTER m_heap USING m_heap_pkey;
REINDEX TABLE m_spg;
-- large objects
SELECT lo_unlink(lo_from_bytea(0, convert_to(repeat('large object ', 2000), 'UTF8')));
-- logical messages, a restore point, a checkpoint now and then
SELECT pg_logical_emit_message(true, 'bench', 'transactional');
SELECT pg_logical_emit_message(false, 'bench', 'not transactional');
SELECT pg_create_restore_point('bench');
CREATE DATABASE m_db STRATEGY file_copy;
DROP DATABASE m_db;
CHECKPOINT;
