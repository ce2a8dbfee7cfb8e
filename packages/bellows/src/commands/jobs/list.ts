import { Flags } from '@oclif/core';
import { SmokestackCommand, renderTable, formatAge, formatDuration } from '@smokestack/core/cli';
import { jobDurationMs, parseJobStatus, type Job } from '@smokestack/core';

export default class JobsList extends SmokestackCommand {
  static override summary = 'List test jobs, newest first.';
  static override examples = [
    '<%= config.bin %> jobs list',
    '<%= config.bin %> jobs list --status running --json',
    '<%= config.bin %> jobs list --status test_failed --status build_failed --project openstack/nova',
  ];
  static override flags = {
    status: Flags.string({ char: 's', description: 'only jobs in this status (repeatable)', multiple: true }),
    project: Flags.string({ char: 'p', description: 'only this project (repeatable)', multiple: true }),
    change: Flags.integer({ description: 'only jobs of this change number' }),
    limit: Flags.integer({ char: 'n', description: 'show at most this many jobs (tables only; --json lists all)', default: 50 }),
  };

  async run(): Promise<{ jobs: Job[] } | undefined> {
    const { flags } = await this.parse(JobsList);
    const status = flags.status?.map((s) => parseJobStatus(s));
    const filter = { status, project: flags.project, number: flags.change };
    // --json streams every job (history included) without holding them all.
    if (this.jsonEnabled()) return void (await this.streamJsonList('jobs', this.store.listJobs(filter)));
    const shown: Job[] = [];
    let more = 0;
    for await (const job of this.store.listJobs(filter)) {
      if (shown.length < flags.limit) shown.push(job);
      else more++;
    }
    this.printTable(shown, more);
    return { jobs: shown };
  }

  private printTable(shown: Job[], more: number): void {
    const now = new Date();
    this.log(
      shown.length === 0
        ? 'No jobs match.'
        : renderTable(
            ['id', 'project', 'change', 'template', 'status', 'tests', 'fail', 'skip', 'duration', 'created'],
            shown.map((j) => [
              j.id,
              j.project,
              j.baseline ? `baseline ${j.baseline.branch}` : `${j.number},${j.patchSet}`,
              j.template,
              j.status,
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
  }
}
