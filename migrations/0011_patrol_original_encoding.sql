-- A track uploaded gzip-compressed (Content-Encoding: gzip, as the chief
-- page and phone apps send it) keeps its original as the gzip stream
-- received, `original_encoding = 'gzip'`: byte for byte the same file once
-- decompressed (GET /api/v1/patrols/{id}/original decompresses it), about
-- an eighth of the GPX text, and nothing for PostgreSQL to compress. NULL:
-- stored as the file itself. `original_sha256` is always the file's.
ALTER TABLE patrols
    ADD COLUMN original_encoding text CHECK (original_encoding IN ('gzip'));
