-- store::tiles::version fingerprints a week's patrols (count, newest id,
-- upload and override) for every tile request, the ETag's basis. Scoped to
-- a town it uses patrols_town_week_idx; for a county or national office
-- (no town) it scanned every patrol of every week. This index answers it
-- from the index alone.
CREATE INDEX patrols_week_idx ON patrols (week_start) INCLUDE (id, uploaded_at, overridden_at);
