import { Flags } from '@smokestack/core/oclif';
import { SmokestackCommand, renderTable } from '@smokestack/core/cli';
import { parseAge } from '@smokestack/core/age';
import { sweepGroups, type SweepItem } from '@smokestack/core/providers/group-sweep';

export default class GroupSweep extends SmokestackCommand {
  static override summary = 'Delete server groups and provider resources this tool created that are older than an age.';
  static override description = 'Covers every provider: groups in the store, and resources no live group records (left by a crash).';
  static override examples = ['<%= config.bin %> group sweep --dry-run', '<%= config.bin %> group sweep --older-than 6h'];

  static override flags = {
    'older-than': Flags.string({ description: 'minimum age, e.g. 90m, 24h, 7d', default: '24h', env: 'SMOKESTACK_SWEEP_AGE' }),
    'dry-run': Flags.boolean({ description: 'only list what would be deleted' }),
  };

  async run(): Promise<{ cutoff: string; items: SweepItem[] }> {
    const { flags } = await this.parse(GroupSweep);
    const olderThanMs = parseAge(flags['older-than']);
    const result = await sweepGroups(
      { olderThanMs, dryRun: flags['dry-run'] },
      this.providerContext(),
    );
    this.logTable(
      result.items.length === 0
        ? `Nothing older than ${flags['older-than']} to sweep.`
        : renderTable(
            ['provider', 'kind', 'name', 'created', 'action'],
            result.items.map((i) => [i.provider, i.kind, i.name ?? i.id, i.createdAt, i.error ? `${i.action}: ${i.error}` : i.action]),
            { color: this.globals.color },
          ),
    );
    if (result.items.some((i) => i.action === 'failed')) process.exitCode = 1;
    return result;
  }
}
