-- The earlier patrol a duplicate_track copies, for the office to compare.
ALTER TABLE patrols ADD COLUMN duplicate_of bigint REFERENCES patrols (id);
