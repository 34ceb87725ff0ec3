-- The duplicate check of every upload compares the new track with up to
-- twenty earlier patrols' positions. Reading their whole tracks (~86 kB an
-- hour, with times) was most of an upload's cost; `positions` holds just
-- the distinct positions, packed (domain::packed_positions, ~14 kB an
-- hour). Written by every upload from now on; older rows have NULL and are
-- compared through their track, as before.
ALTER TABLE patrols ADD COLUMN positions bytea;

-- Packed varints do not compress: store out of line without trying.
ALTER TABLE patrols ALTER COLUMN positions SET STORAGE EXTERNAL;
