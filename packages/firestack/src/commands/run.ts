import { Flags } from '@smokestack/core/oclif';
import { SmokestackCommand } from '@smokestack/core/cli';
import { STAGES } from '@smokestack/core/results/classify';
import { formatRunReport } from '@smokestack/core/pipeline/report';
import { runTemplate, type RunTemplateResult } from '@smokestack/core/pipeline/service';
import { withStageBoard } from '../stage-board.js';

export default class Run extends SmokestackCommand {
  static override summary = 'Run a template end to end (provision, build, repo, Puppet, tests, harvest, teardown) from this machine.';
  static override description =
    'No queue is involved; the run is recorded as an ad-hoc job (kept apart from the queue\'s), so `firestack logs` and `firestack reproduce` work. ' +
    'A --change puts the branch under test in place of a project\'s source: a Gerrit ref, a commit, URL#REF, or a local checkout path, ' +
    'whose working tree is tested as it is (uncommitted edits and new files included; the first lines name them).';
  static override examples = [
    '<%= config.bin %> run --template demo',
    '<%= config.bin %> run --template demo --change demoapp=refs/changes/45/1045/2',
    '<%= config.bin %> run --template demo-matrix --axis greeting=Howdy --axis port=9090',
    '<%= config.bin %> run --template demo --change demoapp=../demoapp --keep-on-failure --json',
  ];

  static override flags = {
    template: Flags.string({ char: 't', description: 'template name (templates: in smokestack.yaml)', required: true, env: 'SMOKESTACK_TEMPLATE' }),
    change: Flags.string({ description: 'PROJECT=REF, PROJECT=PATH (local checkout) or PROJECT=URL#REF; repeatable', multiple: true }),
    axis: Flags.string({ description: 'AXIS=VALUE: the combination of the template\'s axes to run (others take their first value); repeatable', multiple: true }),
    keep: Flags.boolean({ description: 'keep the server group afterwards', exclusive: ['keep-on-failure'] }),
    'keep-on-failure': Flags.boolean({ description: 'keep the server group when the job fails', exclusive: ['keep'] }),
    'insecure-accept-host-keys': Flags.boolean({ description: 'accept SSH host keys no known_hosts file vouches for', env: 'SMOKESTACK_INSECURE_ACCEPT_HOST_KEYS' }),
  };

  async run(): Promise<RunTemplateResult> {
    const { flags } = await this.parse(Run);
    const controller = new AbortController();
    const stop = () => controller.abort('interrupted');
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      const out = await withStageBoard(this.progress, STAGES, (display) =>
        runTemplate({
          loaded: this.settings,
          template: flags.template,
          changes: flags.change ?? [],
          axes: flags.axis ?? [],
          ...this.providerContext(),
          ...display,
          keep: flags.keep,
          ...(flags['keep-on-failure'] ? { keepOnFailure: true } : {}),
          insecureAcceptHostKeys: flags['insecure-accept-host-keys'],
          signal: controller.signal,
          ...(this.globals.verbose ? { echo: (stage: string, host: string, line: string) => this.logToStderr(`[${stage} ${host}] ${line}`) } : {}),
        }),
      );
      for (const line of formatRunReport(out.result, out.page)) this.log(line);
      if (out.result.status !== 'success') process.exitCode = 1;
      return out;
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
  }
}
