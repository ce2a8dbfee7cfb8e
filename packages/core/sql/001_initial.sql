-- SmokeStack's state in PostgreSQL. Each record is kept whole as a jsonb document (what the
-- planners read and write); the columns beside it are what SQL filters, orders and joins on.

CREATE TABLE meta (
  key text PRIMARY KEY,
  value jsonb NOT NULL
);
INSERT INTO meta (key, value) VALUES ('next_job_id', '1');

CREATE TABLE configs (
  id text PRIMARY KEY,
  project text NOT NULL,
  number integer NOT NULL,
  patch_set integer NOT NULL,
  doc jsonb NOT NULL
);

CREATE TABLE jobs (
  id text PRIMARY KEY,
  num bigint NOT NULL,
  config_id text NOT NULL,
  project text NOT NULL,
  number integer NOT NULL,
  patch_set integer NOT NULL,
  template text NOT NULL,
  pool text NOT NULL DEFAULT 'default',
  status text NOT NULL,
  worker text,
  created_at timestamptz NOT NULL,
  finished_at timestamptz,
  heartbeat_at timestamptz,
  -- When the job stopped mattering (finished, else created): history's order and prune's cutoff.
  ended_at timestamptz NOT NULL,
  -- Bumped by every write, so an update that loaded an older row cannot overwrite a newer one.
  version integer NOT NULL DEFAULT 1,
  doc jsonb NOT NULL
);
-- The claim: the oldest queued job of the worker's pools.
CREATE INDEX jobs_queued ON jobs (pool, created_at, num) WHERE status = 'queued';
CREATE INDEX jobs_queued_any ON jobs (created_at, num) WHERE status = 'queued';
-- Stale-heartbeat recovery and `jobs list --status running`.
CREATE INDEX jobs_active ON jobs (status, created_at DESC, num DESC) WHERE status IN ('queued', 'running');
-- A patch set's jobs (the live set's join with configs, comment, retry).
CREATE INDEX jobs_patch_set ON jobs (config_id, patch_set);
-- Lists and history, newest first.
CREATE INDEX jobs_created ON jobs (created_at DESC, num DESC);
CREATE INDEX jobs_status_created ON jobs (status, created_at DESC, num DESC);
CREATE INDEX jobs_project_created ON jobs (project, created_at DESC, num DESC);
CREATE INDEX jobs_ended ON jobs (ended_at DESC, num DESC);

CREATE TABLE votes (
  key text PRIMARY KEY,
  project text NOT NULL,
  number integer NOT NULL,
  patch_set integer NOT NULL,
  posted_at timestamptz NOT NULL,
  doc jsonb NOT NULL
);
CREATE INDEX votes_patch_set ON votes (project, number, patch_set);
CREATE INDEX votes_posted ON votes (posted_at DESC);

CREATE TABLE groups (
  name text PRIMARY KEY,
  doc jsonb NOT NULL
);

CREATE TABLE sync_marks (
  key text PRIMARY KEY,
  doc jsonb NOT NULL
);

CREATE TABLE seen_events (
  seq bigserial PRIMARY KEY,
  key text NOT NULL UNIQUE
);

CREATE TABLE purged (
  config_id text PRIMARY KEY,
  doc jsonb NOT NULL
);

CREATE TABLE workers (
  name text PRIMARY KEY,
  pools text[] NOT NULL,
  host text NOT NULL,
  started_at timestamptz NOT NULL,
  heartbeat_at timestamptz NOT NULL,
  doc jsonb NOT NULL
);

-- A job bellows supersedes or cancels is stopped by its worker, which listens for its id here.
CREATE FUNCTION notify_job_stop() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('smokestack_job_stop', NEW.id);
  RETURN NEW;
END
$$;
CREATE TRIGGER jobs_stop AFTER UPDATE OF status ON jobs
  FOR EACH ROW WHEN (NEW.status IN ('superseded', 'cancelled') AND OLD.status IS DISTINCT FROM NEW.status)
  EXECUTE FUNCTION notify_job_stop();
