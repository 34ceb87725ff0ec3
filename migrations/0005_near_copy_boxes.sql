-- Near-copy candidates by box (issue #3). The duplicate check used to
-- compare an upload with the 20 oldest patrols whose simplified track
-- overlapped it, so once a reach had more than 20 similar earlier patrols a
-- replay of a recent one was never compared. `bbox` is the box of a
-- patrol's positions and `core_bbox` the box of its distinct positions
-- without the n / 10 + 1 most extreme on each side (see
-- domain::similarity::NearCopyBoxes): a near copy's core box lies within
-- the other track's box grown by half a metre, which the candidate query
-- checks exactly, orders by (closest core box first) and indexes (bbox).
-- Both are written by store::patrols::insert; rows without them (fewer
-- than 10 distinct positions, or written by test helpers) are never
-- candidates, as such tracks are never near copies.
ALTER TABLE patrols
    ADD COLUMN bbox geometry(Polygon, 4326),
    ADD COLUMN core_bbox geometry(Polygon, 4326);

WITH points AS (
    SELECT p.id, d.path[1] AS i, ST_X(d.geom) AS lon, ST_Y(d.geom) AS lat
    FROM patrols p, ST_DumpPoints(p.track) d
), distinct_points AS (
    -- Consecutive repeats dropped, as domain::similarity does.
    SELECT id, lon, lat FROM (
        SELECT id, lon, lat,
               lon = lag(lon) OVER w AND lat = lag(lat) OVER w AS repeat
        FROM points WINDOW w AS (PARTITION BY id ORDER BY i)
    ) s
    WHERE repeat IS NOT TRUE
), boxes AS (
    SELECT id, count(*) / 10 + 1 AS k, count(*) AS n,
           min(lon) AS min_lon, min(lat) AS min_lat, max(lon) AS max_lon, max(lat) AS max_lat,
           array_agg(lon ORDER BY lon) AS lons, array_agg(lat ORDER BY lat) AS lats
    FROM distinct_points GROUP BY id
)
UPDATE patrols p
SET bbox = ST_MakeEnvelope(b.min_lon, b.min_lat, b.max_lon, b.max_lat, 4326),
    core_bbox = CASE WHEN b.n >= 10 THEN
        ST_MakeEnvelope(b.lons[b.k + 1], b.lats[b.k + 1], b.lons[b.n - b.k], b.lats[b.n - b.k], 4326)
    END
FROM boxes b
WHERE b.id = p.id;

CREATE INDEX patrols_bbox_gix ON patrols USING gist (bbox);
