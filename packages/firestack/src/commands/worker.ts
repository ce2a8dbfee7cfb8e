import { Flags } from '@smokestack/core/oclif';
import { SmokestackCommand } from '@smokestack/core/cli';
import { runWorker, type WorkerReport } from '@smokestack/core/pipeline/worker';

export default class Worker extends SmokestackCommand {
  static override summary = 'Run queued jobs: claim them from the store, run the pipeline with a heartbeat, retry infra failures.';
  static override description =
    'Jobs of workers that stopped heartbeating are taken back and run again; a job marked superseded or cancelled is stopped ' +
    'and torn down within seconds. SIGTERM stops claiming, stops the running jobs and puts them back in the queue.';
  static override examples = [
    '<%= config.bin %> worker',
    '<%= config.bin %> worker --concurrency 2',
    '<%= config.bin %> worker --once --json',
    '<%= config.bin %> worker --pool libvirt --pool unit',
  ];

  static override flags = {
    concurrency: Flags.integer({ description: 'jobs run at the same time (default: config worker.concurrency, else 1)', min: 1, max: 64, env: 'SMOKESTACK_WORKER_CONCURRENCY' }),
    pool: Flags.string({ description: 'take only jobs of this pool (repeatable; default: config worker.pools, else "default")', multiple: true }),
    once: Flags.boolean({ description: 'run what is queued now, then exit' }),
    'max-jobs': Flags.integer({ description: 'exit after starting this many jobs', min: 1 }),
    'insecure-accept-host-keys': Flags.boolean({ description: 'accept SSH host keys no known_hosts file vouches for', env: 'SMOKESTACK_INSECURE_ACCEPT_HOST_KEYS' }),
  };

  async run(): Promise<WorkerReport> {
    const { flags } = await this.parse(Worker);
    const controller = new AbortController();
    const stop = () => {
      this.logToStderr('firestack worker: stopping; running jobs go back to the queue');
      controller.abort('shutdown');
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    try {
      const report = await runWorker({
        ...this.providerContext(),
        loaded: this.settings,
        ...(flags.concurrency ? { concurrency: flags.concurrency } : {}),
        once: flags.once,
        ...(flags.pool?.length ? { pools: flags.pool } : {}),
        ...(flags['max-jobs'] ? { maxJobs: flags['max-jobs'] } : {}),
        insecureAcceptHostKeys: flags['insecure-accept-host-keys'],
        signal: controller.signal,
      });
      for (const job of report.jobs) this.log(`${job.id}: ${job.status} — ${job.message}`);
      if (report.jobs.length === 0) this.log('No jobs were run.');
      return report;
    } finally {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
    }
  }
}
