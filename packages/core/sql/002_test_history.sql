-- Whose fault a failure is: per-test history, the flaky tests it shows, and recent baseline jobs.

-- Every finished job's test outcomes (a TestRun), asked for by revision set.
CREATE TABLE test_runs (
  job_id text PRIMARY KEY,
  project text NOT NULL,
  revision_set text NOT NULL,
  finished_at timestamptz NOT NULL,
  doc jsonb NOT NULL
);
CREATE INDEX test_runs_revision_set ON test_runs (revision_set);
CREATE INDEX test_runs_finished ON test_runs (finished_at);

-- A test that both passed and failed on one revision set, with that set's counts (the file store's registry, one row per set).
CREATE TABLE flaky_tests (
  project text NOT NULL,
  test_id text NOT NULL,
  revision_set text NOT NULL,
  template text NOT NULL,
  failed integer NOT NULL,
  runs integer NOT NULL,
  -- As the run's finishedAt was written (ISO 8601): compared as text, like the file store's registry.
  last_seen text NOT NULL,
  PRIMARY KEY (project, test_id, revision_set)
);
CREATE INDEX flaky_tests_seen ON flaky_tests (project, last_seen DESC);

-- The latest baseline job of each baseline key, so a recent one is reused (part of the live state).
CREATE TABLE baselines (
  key text PRIMARY KEY,
  doc jsonb NOT NULL
);
