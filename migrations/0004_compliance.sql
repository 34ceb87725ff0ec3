-- Compliance (issue #4): indexes for the weekly rule, the exemptions lists
-- and the town figures. chief_weeks itself is in 0001.

-- store::compliance::recount_week counts one chief-week's effectively valid
-- patrols after every insert or override: an exact index on the pair it
-- filters on, so the recount reads only that week's patrols.
CREATE INDEX patrols_chief_week_idx ON patrols (chief_id, week_start);

-- GET /api/v1/exemptions?town_id= and the quarter matrix read a town's
-- exemptions overlapping a date range.
CREATE INDEX exemptions_town_idx ON exemptions (town_id, to_date);

-- GET /api/v1/stats counts issues found / resolved in a date range per town.
-- (issues found per town and date use issues_town_created_idx from 0003)
CREATE INDEX issues_town_resolved_idx ON issues (town_id, resolved_at) WHERE resolved_at IS NOT NULL;
