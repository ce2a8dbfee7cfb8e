import { Args, Flags } from '@smokestack/core/oclif';
import { SmokestackCommand } from '@smokestack/core/cli';
import { findJob } from '@smokestack/core/queue/queue';
import { formatRunReport } from '@smokestack/core/pipeline/report';
import { planTemplateRun, runTemplate, type RunTemplateResult } from '@smokestack/core/pipeline/service';
import { reproduceJob, type Reproduction } from '@smokestack/core/pipeline/reproduce';

export default class Reproduce extends SmokestackCommand {
  static override summary = 'Print the exact `firestack run` command that re-creates a job\'s environment from a laptop (--run runs it).';
  static override description =
    'The command names the config file (an absolute path, so it works wherever it is pasted) and the job\'s template, and pins every source (builds and Puppet modules) to the revision the job recorded.';
  static override examples = ['<%= config.bin %> reproduce j42', '<%= config.bin %> reproduce j42 --run --keep'];

  static override args = {
    job: Args.string({ description: 'job id', required: true }),
  };

  static override flags = {
    run: Flags.boolean({ description: 'run the command now' }),
    keep: Flags.boolean({ description: 'with --run: keep the server group afterwards' }),
  };

  async run(): Promise<Reproduction & { run?: RunTemplateResult }> {
    const { args, flags } = await this.parse(Reproduce);
    const job = await findJob(this.store, args.job);
    let defaults;
    try {
      defaults = planTemplateRun(this.settings, job.template).sources;
    } catch {
      // The template changed or is gone: every source is then printed with its URL.
      defaults = undefined;
    }
    const reproduction = reproduceJob(job, defaults, { configPath: this.settings.path });
    this.log(reproduction.command);
    for (const note of reproduction.notes) this.logToStderr(`note: ${note}`);
    if (!flags.run) return reproduction;
    const run = await runTemplate({ loaded: this.settings, template: job.template, changes: reproduction.changes, axes: reproduction.axes, ...this.providerContext(), keep: flags.keep });
    for (const line of formatRunReport(run.result, run.page)) this.log(line);
    if (run.result.status !== 'success') process.exitCode = 1;
    return { ...reproduction, run };
  }
}
