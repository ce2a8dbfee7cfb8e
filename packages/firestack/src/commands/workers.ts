import { SmokestackCommand, formatAge, renderTable } from '@smokestack/core/cli';
import { listWorkers, type WorkerListing } from '@smokestack/core/queue/workers';

export default class Workers extends SmokestackCommand {
  static override summary = 'List the registered job workers: name, pools, host, when they started and were last heard of.';
  static override description = 'A worker is live while its heartbeat is younger than worker.staleSeconds; the jobs of one that stopped are requeued.';
  static override examples = ['<%= config.bin %> workers', '<%= config.bin %> workers --json'];

  async run(): Promise<WorkerListing> {
    const listing = await listWorkers(this.store, { now: new Date(), staleMs: (this.settings.config.worker?.staleSeconds ?? 60) * 1000 });
    const now = new Date();
    this.log(
      listing.workers.length === 0
        ? 'No workers registered.'
        : renderTable(
            ['name', 'pools', 'host', 'started', 'last heard', 'live'],
            listing.workers.map((w) => [w.name, w.pools.join(', '), w.host, formatAge(w.startedAt, now), formatAge(w.heartbeatAt, now), w.live ? 'yes' : 'no']),
            { color: this.globals.color },
          ),
    );
    return listing;
  }
}
