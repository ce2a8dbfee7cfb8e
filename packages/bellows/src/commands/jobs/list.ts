import { Flags } from '@smokestack/core/oclif';
import { SmokestackCommand, renderTable, formatAge, formatDuration } from '@smokestack/core/cli';
import { filterJobs, jobDurationMs, jobKind, keyOfJob, parseJobKind, parseJobStatus } from '@smokestack/core/queue/jobs';
import { withPoolService, type ListedJob } from '@smokestack/core/queue/workers';
import type { JobKind } from '@smokestack/core/model';

/** The --kind flag as job kinds: "queue" is everything workers take from the queue, "change" a change's jobs alone. */
function kindsOf(flag: string): readonly JobKind[] | undefined {
  if (flag === 'all') return undefined;
  if (flag === 'queue') return ['queue', 'baseline'];
  return [parseJobKind(flag === 'change' ? 'queue' : flag)];
}

export default class JobsList extends SmokestackCommand {
  static override summary = 'List test jobs, newest first.';
  static override examples = [
    '<%= config.bin %> jobs list',
    '<%= config.bin %> jobs list --status running --json',
    '<%= config.bin %> jobs list --status test_failed --status build_failed --project openstack/nova',
    '<%= config.bin %> jobs list --kind adhoc',
  ];
  static override flags = {
    kind: Flags.string({
      description: 'queue: what workers take from the queue (jobs of Gerrit changes and baselines of their target branches); change; baseline; adhoc: runs started by hand (firestack run); all',
      default: 'queue',
      options: ['queue', 'change', 'baseline', 'adhoc', 'all'],
    }),
    status: Flags.string({ char: 's', description: 'only jobs in this status (repeatable)', multiple: true }),
    project: Flags.string({ char: 'p', description: 'only this project (repeatable)', multiple: true }),
    change: Flags.integer({ description: 'only jobs of this change number' }),
    limit: Flags.integer({ char: 'n', description: 'show at most this many jobs (tables only; --json lists all)', default: 50 }),
  };

  async run(): Promise<{ jobs: ListedJob[] } | undefined> {
    const { flags } = await this.parse(JobsList);
    const status = flags.status?.map((s) => parseJobStatus(s));
    const kind = kindsOf(flags.kind);
    const filter = { kind, status, project: flags.project, number: flags.change };
    const staleMs = (this.settings.config.worker?.staleSeconds ?? 60) * 1000;
    const jobs = withPoolService(this.store.listJobs(filter), await this.store.queue.listWorkers(), new Date(), staleMs);
    // --json streams every job (history included) without holding them all.
    if (this.jsonEnabled()) return void (await this.streamJsonList('jobs', jobs));
    const shown: ListedJob[] = [];
    let more = 0;
    for await (const job of jobs) {
      if (shown.length < flags.limit) shown.push(job);
      else more++;
    }
    this.printTable(shown, more);
    await this.noteAdHocRuns(kind);
    return { jobs: shown };
  }

  private printTable(shown: ListedJob[], more: number): void {
    const now = new Date();
    this.logTable(
      shown.length === 0
        ? 'No jobs match.'
        : renderTable(
            ['id', 'project', 'change', 'template', 'status', 'tests', 'fail', 'skip', 'duration', 'created'],
            shown.map((j) => [
              j.id,
              j.project,
              jobKind(j) === 'adhoc' ? 'ad hoc' : j.baseline ? `baseline ${j.baseline.branch}` : `${j.number},${j.patchSet}`,
              keyOfJob(j),
              j.unserved ? `queued (no live worker serves pool ${j.pool})` : j.status,
              j.summary.tests,
              j.summary.failures + j.summary.errors,
              j.summary.skipped,
              formatDuration(jobDurationMs(j)),
              formatAge(j.createdAt, now),
            ]),
            { color: this.globals.color },
          ),
    );
    if (more > 0) this.log(`(${more} more; use --limit or --json)`);
    const unserved = [...new Set(shown.filter((j) => j.unserved).map((j) => j.pool))];
    if (unserved.length > 0) this.log(`No live worker serves pool(s) ${unserved.join(', ')}: start one with firestack worker --pool NAME`);
  }

  /** Ad-hoc runs are left out of the queue's list; say that they exist and how to see them. */
  private async noteAdHocRuns(kind: readonly JobKind[] | undefined): Promise<void> {
    if (!kind || kind.includes('adhoc')) return;
    const adhoc = filterJobs(await this.store.read(), { kind: 'adhoc' }).length;
    if (adhoc > 0) this.log(`(${adhoc} ad-hoc run(s) of firestack run not listed; see them with --kind adhoc)`);
  }
}
