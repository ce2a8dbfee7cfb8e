-- Jobs of one kind, newest first (`jobs list` shows queue jobs and baselines unless asked for
-- others). The index is on the same expression the store filters by (JOB_KIND_SQL): it answers a
-- single kind in order, and its statistics tell the planner how common each kind is. Without them
-- a kind filter was guessed to match almost nothing, and every page of a long history was read by
-- scanning the whole table.
CREATE INDEX jobs_kind_created ON jobs ((coalesce(doc->>'kind', CASE WHEN config_id = 'adhoc' THEN 'adhoc' ELSE 'queue' END)), created_at DESC, num DESC);
ANALYZE jobs;
