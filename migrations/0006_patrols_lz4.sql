-- TOAST compression of the large patrol columns with lz4 instead of pglz
-- (issue #3): in the upload load test pglz took about an eighth of the
-- server's and PostgreSQL's CPU, compressing the ~300 kB original file and
-- the track on insert and decompressing tracks read as duplicate
-- candidates. lz4 is several times faster at both, for a little less
-- compression of the GPX text. Values already stored keep their pglz
-- compression until rewritten; both are read transparently. PostgreSQL
-- built without lz4 keeps pglz (a notice, not an error).
DO $$
BEGIN
    ALTER TABLE patrols
        ALTER COLUMN original SET COMPRESSION lz4,
        ALTER COLUMN track SET COMPRESSION lz4,
        ALTER COLUMN track_simplified SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'lz4 is not available in this PostgreSQL: patrols keep pglz compression';
END
$$;
