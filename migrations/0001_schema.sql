-- The whole domain of DESIGN.md. Geometry in EPSG:4326; lengths in metres.
-- Every large table carries town_id: a province-scale deployment distributes
-- by it (Citus), so queries should always be able to filter on it.

CREATE EXTENSION IF NOT EXISTS postgis;

CREATE TABLE towns (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code        text NOT NULL UNIQUE CHECK (code ~ '^[0-9]{9}$'),
    name        text NOT NULL CHECK (name <> ''),
    -- Overrides of the patrol rule thresholds (domain::validity::RuleSet);
    -- keys missing here take the DESIGN defaults.
    rules       jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE villages (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    town_id     bigint NOT NULL REFERENCES towns (id),
    code        text NOT NULL UNIQUE CHECK (code ~ '^[0-9]{12}$'),
    name        text NOT NULL CHECK (name <> '')
);
CREATE INDEX villages_town_idx ON villages (town_id);

CREATE TABLE branches (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    town_id     bigint NOT NULL REFERENCES towns (id),
    village_id  bigint REFERENCES villages (id),
    code        text NOT NULL CHECK (code <> ''),
    name        text NOT NULL CHECK (name <> ''),
    UNIQUE (town_id, code)
);

CREATE TABLE rivers (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    town_id     bigint NOT NULL REFERENCES towns (id),
    code        text NOT NULL CHECK (code <> ''),
    name        text NOT NULL CHECK (name <> ''),
    UNIQUE (town_id, code)
);

CREATE TABLE reaches (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    town_id     bigint NOT NULL REFERENCES towns (id),
    river_id    bigint NOT NULL REFERENCES rivers (id),
    village_id  bigint REFERENCES villages (id),
    code        text NOT NULL CHECK (code <> ''),
    name        text NOT NULL CHECK (name <> ''),
    geom        geometry(MultiLineString, 4326) NOT NULL,
    -- Geodesic length, computed on write (ST_Length on geography).
    length_m    double precision NOT NULL CHECK (length_m > 0),
    UNIQUE (town_id, code)
);
CREATE INDEX reaches_geom_gix ON reaches USING gist (geom);
CREATE INDEX reaches_village_idx ON reaches (village_id);

CREATE TABLE chiefs (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    town_id       bigint NOT NULL REFERENCES towns (id),
    code          text NOT NULL CHECK (code <> ''),
    name          text NOT NULL CHECK (name <> ''),
    phone         text,
    level         text NOT NULL CHECK (level IN ('town', 'village')),
    village_id    bigint REFERENCES villages (id),
    branch_id     bigint REFERENCES branches (id),
    appointed_on  date NOT NULL,
    -- Last day in office (inclusive); NULL while in office.
    left_on       date,
    UNIQUE (town_id, code),
    CHECK ((level = 'town' AND village_id IS NULL) OR (level = 'village' AND village_id IS NOT NULL)),
    CHECK (left_on IS NULL OR left_on >= appointed_on)
);
CREATE INDEX chiefs_village_idx ON chiefs (village_id);

-- Chief <-> reach over a date range (inclusive; to_date NULL = open).
-- History is kept: a change closes the old row and opens a new one.
-- A town chief with no rows covers every reach of the town.
CREATE TABLE assignments (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    town_id     bigint NOT NULL REFERENCES towns (id),
    chief_id    bigint NOT NULL REFERENCES chiefs (id),
    reach_id    bigint NOT NULL REFERENCES reaches (id),
    from_date   date NOT NULL,
    to_date     date,
    CHECK (to_date IS NULL OR to_date >= from_date)
);
CREATE INDEX assignments_chief_idx ON assignments (chief_id, from_date);
CREATE INDEX assignments_reach_idx ON assignments (reach_id);

CREATE TABLE users (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    town_id              bigint REFERENCES towns (id),
    login                text NOT NULL UNIQUE CHECK (login <> ''),
    password_hash        text NOT NULL,
    role                 text NOT NULL CHECK (role IN ('admin', 'chief', 'assessor')),
    chief_id             bigint UNIQUE REFERENCES chiefs (id),
    password_changed_at  timestamptz NOT NULL DEFAULT now(),
    created_at           timestamptz NOT NULL DEFAULT now(),
    CHECK (role <> 'chief' OR chief_id IS NOT NULL)
);

-- Opaque bearer tokens: only the SHA-256 of the token is stored.
CREATE TABLE api_tokens (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash  bytea NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id);

CREATE TABLE exemptions (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    town_id      bigint NOT NULL REFERENCES towns (id),
    chief_id     bigint NOT NULL REFERENCES chiefs (id),
    from_date    date NOT NULL,
    to_date      date NOT NULL,
    reason       text NOT NULL CHECK (reason <> ''),
    approved_by  bigint REFERENCES users (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (to_date >= from_date)
);
CREATE INDEX exemptions_chief_idx ON exemptions (chief_id, from_date);

CREATE TABLE patrols (
    id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    town_id                bigint NOT NULL REFERENCES towns (id),
    chief_id               bigint NOT NULL REFERENCES chiefs (id),
    uploaded_by            bigint REFERENCES users (id),
    uploaded_at            timestamptz NOT NULL DEFAULT now(),
    idempotency_key        text,
    -- The file exactly as uploaded, and its SHA-256.
    original               bytea NOT NULL,
    original_sha256        bytea NOT NULL,
    original_content_type  text NOT NULL,
    coords                 text NOT NULL DEFAULT 'wgs84' CHECK (coords IN ('wgs84', 'gcj02')),
    notes                  text,
    started_at             timestamptz NOT NULL,
    ended_at               timestamptz NOT NULL,
    -- Monday (CST) of the ISO week the patrol started in.
    week_start             date NOT NULL,
    point_count            integer NOT NULL,
    length_m               double precision NOT NULL,
    duration_s             double precision NOT NULL,
    moving_time_s          double precision NOT NULL,
    max_speed_kmh          double precision NOT NULL,
    fast_share             double precision NOT NULL,
    -- M = epoch seconds of each point.
    track                  geometry(LineStringM, 4326) NOT NULL,
    -- For maps: simplified, no M.
    track_simplified       geometry(LineString, 4326) NOT NULL,
    coverage               double precision NOT NULL,
    valid                  boolean NOT NULL,
    reasons                text[] NOT NULL DEFAULT '{}',
    flags                  text[] NOT NULL DEFAULT '{}',
    shape_fingerprint      text NOT NULL,
    metrics                jsonb NOT NULL DEFAULT '{}'::jsonb,
    -- Validity override by the town office (audited).
    override_valid         boolean,
    override_reason        text,
    overridden_by          bigint REFERENCES users (id),
    overridden_at          timestamptz,
    UNIQUE (chief_id, original_sha256),
    UNIQUE (chief_id, idempotency_key)
);
CREATE INDEX patrols_chief_started_idx ON patrols (chief_id, started_at);
CREATE INDEX patrols_town_week_idx ON patrols (town_id, week_start);
CREATE INDEX patrols_fingerprint_idx ON patrols (shape_fingerprint);
CREATE INDEX patrols_track_gix ON patrols USING gist (track_simplified);

CREATE TABLE patrol_reaches (
    patrol_id  bigint NOT NULL REFERENCES patrols (id) ON DELETE CASCADE,
    reach_id   bigint NOT NULL REFERENCES reaches (id),
    town_id    bigint NOT NULL REFERENCES towns (id),
    coverage   double precision NOT NULL CHECK (coverage >= 0 AND coverage <= 1),
    covered_m  double precision NOT NULL,
    PRIMARY KEY (patrol_id, reach_id)
);
CREATE INDEX patrol_reaches_reach_idx ON patrol_reaches (reach_id);

-- Valid patrols per chief and week, kept up to date when a patrol lands or
-- its validity is overridden, so compliance never scans all patrols.
CREATE TABLE chief_weeks (
    chief_id       bigint NOT NULL REFERENCES chiefs (id),
    week_start     date NOT NULL,
    town_id        bigint NOT NULL REFERENCES towns (id),
    valid_patrols  integer NOT NULL DEFAULT 0,
    PRIMARY KEY (chief_id, week_start)
);
CREATE INDEX chief_weeks_town_idx ON chief_weeks (town_id, week_start);

-- Issue categories: the Open311 service codes. town_id NULL = default set.
CREATE TABLE issue_categories (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    town_id   bigint REFERENCES towns (id),
    code      text NOT NULL CHECK (code ~ '^[a-z_]+$'),
    name_zh   text NOT NULL,
    name_en   text NOT NULL,
    sort      integer NOT NULL DEFAULT 0,
    UNIQUE NULLS NOT DISTINCT (town_id, code)
);
INSERT INTO issue_categories (town_id, code, name_zh, name_en, sort) VALUES
    (NULL, 'floating_garbage', '漂浮垃圾', 'Floating garbage', 1),
    (NULL, 'sewage', '污水直排', 'Sewage discharge', 2),
    (NULL, 'sand_mining', '非法采砂', 'Illegal sand mining', 3),
    (NULL, 'encroachment', '侵占河道/违建', 'Encroachment / illegal building', 4),
    (NULL, 'siltation', '河道淤积', 'Siltation', 5),
    (NULL, 'water_quality', '水质异常/死鱼', 'Abnormal water quality / dead fish', 6),
    (NULL, 'facility_damage', '设施损坏', 'Damaged facilities', 7),
    (NULL, 'other', '其他', 'Other', 8);

CREATE TABLE issues (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    town_id           bigint NOT NULL REFERENCES towns (id),
    category          text NOT NULL,
    description       text NOT NULL DEFAULT '',
    location          geometry(Point, 4326) NOT NULL,
    reach_id          bigint REFERENCES reaches (id),
    village_id        bigint REFERENCES villages (id),
    level             text NOT NULL CHECK (level IN ('village', 'town')),
    source            text NOT NULL CHECK (source IN ('patrol', 'public', 'staff')),
    status            text NOT NULL CHECK (status IN ('reported', 'assigned', 'in_progress', 'resolved', 'closed')),
    assignee_id       bigint REFERENCES chiefs (id),
    patrol_id         bigint REFERENCES patrols (id),
    reporter_user_id  bigint REFERENCES users (id),
    -- Public reporters' contact details: never shown through any API.
    reporter_contact  jsonb,
    deadline          timestamptz,
    resolved_at       timestamptz,
    closed_at         timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX issues_town_status_idx ON issues (town_id, status);
CREATE INDEX issues_village_idx ON issues (village_id);
CREATE INDEX issues_location_gix ON issues USING gist (location);

CREATE TABLE issue_events (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    issue_id       bigint NOT NULL REFERENCES issues (id),
    town_id        bigint NOT NULL REFERENCES towns (id),
    at             timestamptz NOT NULL DEFAULT now(),
    actor_user_id  bigint REFERENCES users (id),
    action         text NOT NULL,
    from_status    text,
    to_status      text NOT NULL,
    note           text,
    assignee_id    bigint REFERENCES chiefs (id)
);
CREATE INDEX issue_events_issue_idx ON issue_events (issue_id, at);

CREATE TABLE photos (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    issue_id       bigint NOT NULL REFERENCES issues (id),
    town_id        bigint NOT NULL REFERENCES towns (id),
    sha256         text NOT NULL,
    content_type   text NOT NULL,
    size_bytes     bigint NOT NULL,
    width          integer,
    height         integer,
    exif_location  geometry(Point, 4326),
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX photos_issue_idx ON photos (issue_id);

-- Every change of an issue or a patrol's validity, of exemptions and of the
-- roster: who, when, what.
CREATE TABLE audit_log (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    town_id    bigint REFERENCES towns (id),
    at         timestamptz NOT NULL DEFAULT now(),
    user_id    bigint REFERENCES users (id),
    action     text NOT NULL,
    entity     text NOT NULL,
    entity_id  bigint,
    details    jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_entity_idx ON audit_log (entity, entity_id);
