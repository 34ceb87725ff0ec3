-- Issue #14: a walk plus one point dated nine days earlier was stored
-- valid (duration 216 hours) and counted for that earlier week. Uploads
-- are now judged by two more rules (domain::validity): `too_long`, first
-- to last point over max_duration_h (8) hours, and `time_gap`, two
-- consecutive points over max_gap_min (60) minutes apart. This judges the
-- patrols stored before by the same two rules, so that a week won with such
-- a track is missed again, and recounts the chief-weeks and quarters that
-- changes (as store::compliance::recount_week would).
--
-- `late_upload` is deliberately not applied to these rows: they were
-- uploaded when there was no deadline, and their uploaded_at is often the
-- time of a bulk load (an office entering last season's records, a demo
-- season loaded weeks later), not the time the chief had the file. Judging
-- them late now would void weeks that were honestly patrolled.
--
-- The thresholds are the towns' (no town can have overridden them yet, as
-- unknown keys were refused, so these are the defaults). An office's
-- validity override stays and still decides: effective validity is
-- COALESCE(override_valid, valid). Every patrol changed gets an audit entry
-- (no user: the upgrade). Running these statements again changes nothing.

CREATE TEMPORARY TABLE rejudged_0012 ON COMMIT DROP AS
SELECT id, town_id, chief_id, week_start, valid AS machine_valid_before, added
FROM (
    SELECT p.id, p.town_id, p.chief_id, p.week_start, p.valid, p.reasons,
           array_remove(ARRAY[
               CASE WHEN extract(epoch FROM p.ended_at - p.started_at)
                         > 3600 * COALESCE((t.rules->>'max_duration_h')::float8, 8)
                    THEN 'too_long' END,
               CASE WHEN gap.longest_s > 60 * COALESCE((t.rules->>'max_gap_min')::float8, 60)
                    THEN 'time_gap' END
           ], NULL) AS added
    FROM patrols p
    JOIN towns t ON t.id = p.town_id
    -- The longest time between consecutive points (M = epoch seconds).
    CROSS JOIN LATERAL (
        SELECT max(m - prev_m) AS longest_s
        FROM (SELECT ST_M(d.geom) AS m, lag(ST_M(d.geom)) OVER (ORDER BY d.path) AS prev_m
              FROM ST_DumpPoints(p.track) d) points
    ) gap
    -- A gap is never longer than the whole patrol: short patrols (nearly
    -- all) are not unpacked at all.
    WHERE extract(epoch FROM p.ended_at - p.started_at) > 60 * LEAST(
        COALESCE((t.rules->>'max_gap_min')::float8, 60),
        60 * COALESCE((t.rules->>'max_duration_h')::float8, 8))
) judged
WHERE cardinality(added) > 0 AND NOT (reasons @> added);

-- The verdict: invalid, the new reasons merged in the order of
-- domain::validity::Reason.
UPDATE patrols p
SET valid = false,
    reasons = ARRAY(
        SELECT reason
        FROM (SELECT DISTINCT unnest(p.reasons || r.added) AS reason) merged
        ORDER BY array_position(ARRAY['too_short', 'too_brief', 'too_long', 'time_gap',
                    'low_coverage', 'outside_assigned_reaches', 'too_fast', 'duplicate_track',
                    'future_timestamps', 'non_increasing_times', 'late_upload'], reason),
                 reason)
FROM rejudged_0012 r
WHERE p.id = r.id;

INSERT INTO audit_log (town_id, user_id, action, entity, entity_id, details)
SELECT town_id, NULL, 'rejudge_validity', 'patrol', id,
       jsonb_build_object('migration', '0012', 'added_reasons', to_jsonb(added),
                          'machine_valid_before', machine_valid_before)
FROM rejudged_0012
ORDER BY id;

-- Recount the chief-weeks of those patrols…
UPDATE chief_weeks cw
SET valid_patrols = (
    SELECT count(*) FROM patrols p
    WHERE p.chief_id = cw.chief_id AND p.week_start = cw.week_start
      AND COALESCE(p.override_valid, p.valid))
WHERE (cw.chief_id, cw.week_start) IN (SELECT chief_id, week_start FROM rejudged_0012);

-- …and clear the bits of the weeks left without a valid patrol in their
-- quarters' masks (bit = the week's place in its quarter, as in 0007),
-- all bits of one chief-quarter at once.
UPDATE chief_quarters q
SET valid_weeks = q.valid_weeks & ~cleared.bits
FROM (
    SELECT cw.chief_id, k.quarter_start,
           bit_or(1 << ((cw.week_start + 3 - k.quarter_start) / 7)) AS bits
    FROM chief_weeks cw
    CROSS JOIN LATERAL (
        SELECT date_trunc('quarter', (cw.week_start + 3)::timestamp)::date AS quarter_start
    ) k
    WHERE cw.valid_patrols = 0
      AND (cw.chief_id, cw.week_start) IN (SELECT chief_id, week_start FROM rejudged_0012)
    GROUP BY cw.chief_id, k.quarter_start
) cleared
WHERE q.chief_id = cleared.chief_id AND q.quarter_start = cleared.quarter_start;
