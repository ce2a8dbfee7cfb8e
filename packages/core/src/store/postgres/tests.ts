import type { Pool, PoolClient } from 'pg';
import { listFlaky, noteFlakyRuns, type FlakyRegistry, type FlakyTest, type TestRun } from '../../results/history.js';
import { inTransaction, retryConnection } from './connection.js';
import { instantKey } from './rows.js';

interface FlakyRow {
  project: string;
  test_id: string;
  revision_set: string;
  template: string;
  failed: number;
  runs: number;
  last_seen: string;
}

/** Rows of flaky_tests as the registries the pure rules work on, one per project. */
function registriesOf(rows: FlakyRow[]): FlakyRegistry[] {
  const byProject = new Map<string, FlakyRegistry>();
  for (const r of rows) {
    const registry = byProject.get(r.project) ?? { project: r.project, tests: {} };
    byProject.set(r.project, registry);
    (registry.tests[r.test_id] ??= {})[r.revision_set] = { template: r.template, failed: r.failed, runs: r.runs, lastSeen: r.last_seen };
  }
  return [...byProject.values()];
}

const FLAKY_SELECT = `SELECT project, test_id, revision_set, template, failed, runs, last_seen FROM flaky_tests`;

/**
 * Per-test history in PostgreSQL, with the file store's rules (results/history.ts): a run is one row,
 * asked for by revision set; recording takes a lock on its revision set, reads that set's runs and
 * rewrites the flaky rows of the tests that are flaky there.
 */
export async function recordTestRun(pool: Pool, run: TestRun): Promise<void> {
  await retryConnection(() =>
    inTransaction(pool, 'BEGIN', async (client) => {
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`smokestack tests ${run.revisionSet}`]);
      await client.query(
        `INSERT INTO test_runs (job_id, project, revision_set, finished_at, doc) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (job_id) DO UPDATE SET project = EXCLUDED.project, revision_set = EXCLUDED.revision_set, finished_at = EXCLUDED.finished_at, doc = EXCLUDED.doc`,
        [run.jobId, run.project, run.revisionSet, run.finishedAt, JSON.stringify(run)],
      );
      const { rows } = await client.query<{ doc: TestRun }>('SELECT doc FROM test_runs WHERE revision_set = $1', [run.revisionSet]);
      const candidates = [...new Set(rows.flatMap((r) => r.doc.failed))];
      if (candidates.length === 0) return;
      const known = await client.query<FlakyRow>(`${FLAKY_SELECT} WHERE project = $1 AND test_id = ANY($2::text[])`, [run.project, candidates]);
      const registry = registriesOf(known.rows)[0] ?? { project: run.project, tests: {} };
      if (!noteFlakyRuns(registry, run, rows.map((r) => r.doc))) return;
      await writeRegistry(client, registry);
    }),
  );
}

/** Replaces the rows of the registry's tests with what it holds now. */
async function writeRegistry(client: PoolClient, registry: FlakyRegistry): Promise<void> {
  const ids = Object.keys(registry.tests);
  await client.query('DELETE FROM flaky_tests WHERE project = $1 AND test_id = ANY($2::text[])', [registry.project, ids]);
  const rows = Object.entries(registry.tests).flatMap(([id, sets]) => Object.entries(sets).map(([set, s]) => [id, set, s.template, s.failed, s.runs, s.lastSeen]));
  if (rows.length === 0) return;
  const column = (i: number) => rows.map((r) => r[i]);
  await client.query(
    `INSERT INTO flaky_tests (project, test_id, revision_set, template, failed, runs, last_seen)
     SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::integer[], $6::integer[], $7::text[])`,
    [registry.project, column(0), column(1), column(2), column(3), column(4), column(5)],
  );
}

export async function testRunsOf(pool: Pool, revisionSet: string): Promise<TestRun[]> {
  const { rows } = await retryConnection(() => pool.query<{ doc: TestRun }>('SELECT doc FROM test_runs WHERE revision_set = $1 ORDER BY finished_at, job_id', [revisionSet]));
  return rows.map((r) => r.doc);
}

/**
 * Every kept run, oldest first, a page at a time (keyset on finish time, kept as text so no precision
 * is lost, and job id), ordered by the column itself rather than its text.
 */
export async function* allTestRuns(pool: Pool, pageSize = 1000): AsyncGenerator<TestRun> {
  type Row = { doc: TestRun; finished_at: string; job_id: string };
  const columns = `SELECT doc, ${instantKey('finished_at')} AS finished_at, job_id FROM test_runs`;
  let after: [string, string] | undefined;
  for (;;) {
    const { rows } = await retryConnection(() =>
      after
        ? pool.query<Row>(`${columns} WHERE (finished_at, job_id) > ($1::timestamptz, $2) ORDER BY test_runs.finished_at, job_id LIMIT $3`, [after[0], after[1], pageSize])
        : pool.query<Row>(`${columns} ORDER BY test_runs.finished_at, job_id LIMIT $1`, [pageSize]),
    );
    for (const row of rows) yield row.doc;
    if (rows.length < pageSize) return;
    const last = rows[rows.length - 1]!;
    after = [last.finished_at, last.job_id];
  }
}

export async function flakyTests(pool: Pool, filter: { project?: string; since: Date }): Promise<FlakyTest[]> {
  const { rows } = await retryConnection(() =>
    filter.project
      ? pool.query<FlakyRow>(`${FLAKY_SELECT} WHERE project = $1 AND last_seen >= $2 ORDER BY project`, [filter.project, filter.since.toISOString()])
      : pool.query<FlakyRow>(`${FLAKY_SELECT} WHERE last_seen >= $1 ORDER BY project`, [filter.since.toISOString()]),
  );
  return registriesOf(rows).flatMap((r) => listFlaky(r, filter.since));
}

/** Removes runs of revision sets last recorded before the cutoff, and flaky sightings older than it (the file store's prune). */
export async function pruneTestHistory(pool: Pool, cutoff: Date): Promise<void> {
  const at = cutoff.toISOString();
  await pool.query('DELETE FROM test_runs WHERE revision_set IN (SELECT revision_set FROM test_runs GROUP BY revision_set HAVING max(finished_at) < $1)', [at]);
  await pool.query('DELETE FROM flaky_tests WHERE last_seen < $1', [at]);
}
