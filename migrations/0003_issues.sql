-- Problems on the river: what the issue workflow needs beyond 0001.

-- Where the location came from: given by the reporter (GeoJSON, lon/lat,
-- Open311 lat/long), read from a photo's EXIF GPS, or placed on the reach
-- of a village named in an Open311 address_string (approximate).
ALTER TABLE issues
    ADD COLUMN location_source text NOT NULL DEFAULT 'given'
        CHECK (location_source IN ('given', 'exif', 'address')),
    -- Open311 address_string, as the public wrote it.
    ADD COLUMN address text,
    -- Open311 media_url sent by the public: a link to their own photo
    -- elsewhere. Never fetched by the server; shown to the office only.
    ADD COLUMN external_media_url text;

-- Lists are newest first, per town.
CREATE INDEX issues_town_created_idx ON issues (town_id, created_at DESC, id DESC);
-- Overdue: still waiting for handling and past the deadline.
CREATE INDEX issues_open_deadline_idx ON issues (town_id, deadline)
    WHERE status IN ('reported', 'assigned', 'in_progress');
CREATE INDEX issues_assignee_idx ON issues (assignee_id);
CREATE INDEX photos_sha256_idx ON photos (sha256);
