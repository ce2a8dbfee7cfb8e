import { Args, Flags } from '@smokestack/core/oclif';
import { SmokestackCommand } from '@smokestack/core/cli';
import { followJobLogs, readJobLogs, type JobLogs } from '@smokestack/core/pipeline/logs';

export default class Logs extends SmokestackCommand {
  static override summary = 'Print a job\'s stage logs (one stage with --stage; keep printing with --follow until it finishes).';
  static override examples = ['<%= config.bin %> logs j42', '<%= config.bin %> logs j42 --stage configure', '<%= config.bin %> logs j42 --follow'];

  static override args = {
    job: Args.string({ description: 'job id (see: bellows jobs list)', required: true }),
  };

  static override flags = {
    stage: Flags.string({ char: 's', description: 'only this stage (provision, prepare, build, repo, configure, test, harvest, teardown)' }),
    follow: Flags.boolean({ char: 'f', description: 'keep printing new lines until the job finishes' }),
  };

  async run(): Promise<JobLogs> {
    const { args, flags } = await this.parse(Logs);
    if (flags.follow && !this.jsonEnabled()) {
      // Whole lines arrive; this.log cleans them for the terminal and adds the last newline back.
      await followJobLogs(this.store, args.job, { stage: flags.stage, onText: (stage, text) => this.log((flags.stage ? text : prefix(stage, text)).replace(/\n$/, '')) });
      return readJobLogs(this.store, args.job, flags.stage);
    }
    const logs = await readJobLogs(this.store, args.job, flags.stage);
    if (logs.stages.length === 0) this.log(`No logs for ${args.job} in ${logs.dir} yet (a job run on another machine arrives when its worker has sent it: firestack outbox there says what waits).`);
    for (const s of logs.stages) {
      if (!flags.stage) this.log(`==> ${s.stage} <==`);
      this.log(s.text.trimEnd());
    }
    if (logs.truncated) this.log(`==> ${logs.dir}/TRUNCATED.txt: the log host's size limit cut these logs <==\n${logs.truncated.trimEnd()}`);
    return logs;
  }
}

function prefix(stage: string, text: string): string {
  return text.replace(/^(?=.)/gm, `[${stage}] `);
}
