-- Compliance (issue #4): the weeks of a quarter in which a chief has at
-- least one effectively valid patrol, as one bitmask per chief and quarter,
-- so that the quarter of every chief is a 100,000-row read rather than an
-- aggregation of a million chief-weeks.
--
-- A quarter is the ISO weeks whose Thursday falls in it (DESIGN.md): 13 or
-- 14 weeks. quarter_start is the quarter's first calendar day (2026-10-01
-- for 2026-Q4); bit i of valid_weeks is the quarter's i-th week (bit 0 =
-- 2026-W40, bit 13 = 2026-W53). For a week starting on Monday m, the
-- quarter is that of its Thursday m + 3 and the bit is
-- (m + 3 - quarter_start) / 7, since the first Thursday of a quarter falls
-- on one of its first seven days.
--
-- Kept by store::compliance::recount_week, in the transaction of every
-- upload and validity override, right after its chief_weeks row (which
-- stays the source of the counts); rebuilt with chief_weeks by
-- rebuild_chief_weeks. A missing row means no valid patrol that quarter.
-- town_id is the chief's (as in chief_weeks), so a town's quarter reads
-- only its rows and the table can be distributed by town.
CREATE TABLE chief_quarters (
    chief_id       bigint NOT NULL REFERENCES chiefs (id),
    quarter_start  date NOT NULL CHECK (extract(day FROM quarter_start) = 1
                                        AND extract(month FROM quarter_start) IN (1, 4, 7, 10)),
    town_id        bigint NOT NULL REFERENCES towns (id),
    valid_weeks    integer NOT NULL DEFAULT 0 CHECK (valid_weeks >= 0 AND valid_weeks < 16384),
    PRIMARY KEY (chief_id, quarter_start)
);
CREATE INDEX chief_quarters_town_idx ON chief_quarters (town_id, quarter_start);

-- Backfill from chief_weeks (the same statement as rebuild_chief_weeks).
INSERT INTO chief_quarters (chief_id, quarter_start, town_id, valid_weeks)
SELECT cw.chief_id, q.quarter_start, c.town_id,
       bit_or(1 << ((cw.week_start + 3 - q.quarter_start) / 7))
FROM chief_weeks cw
JOIN chiefs c ON c.id = cw.chief_id
CROSS JOIN LATERAL (
    SELECT date_trunc('quarter', (cw.week_start + 3)::timestamp)::date AS quarter_start
) q
WHERE cw.valid_patrols > 0
GROUP BY cw.chief_id, q.quarter_start, c.town_id;

-- Statistics now, so the first quarter read after the upgrade gets the
-- plans measured in BENCHMARKS.md, not those of an empty-table guess.
ANALYZE chief_quarters;
