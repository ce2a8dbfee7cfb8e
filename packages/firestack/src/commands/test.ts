import { Flags } from '@oclif/core';
import { SmokestackCommand } from '@smokestack/core/cli';
import { formatRunReport, runStep, type RunTemplateResult } from '@smokestack/core';

export default class Test extends SmokestackCommand {
  static override summary = 'Run the template\'s test suites on an existing server group and collect their JUnit XML or subunit results.';
  static override examples = ['<%= config.bin %> test --group demo-dev --template demo'];

  static override flags = {
    group: Flags.string({ char: 'g', description: 'existing server group to work on', required: true }),
    template: Flags.string({ char: 't', description: 'template name (templates: in smokestack.yaml)', required: true, env: 'SMOKESTACK_TEMPLATE' }),
    change: Flags.string({ description: 'PROJECT=REF, PROJECT=PATH or PROJECT=URL#REF; repeatable', multiple: true }),
  };

  async run(): Promise<RunTemplateResult> {
    const { flags } = await this.parse(Test);
    const out = await runStep({
      loaded: this.settings,
      template: flags.template,
      group: flags.group,
      step: 'test',
      changes: flags.change ?? [],
      store: this.store,
      logger: this.progress,
    });
    for (const line of formatRunReport(out.result)) this.log(line);
    if (out.result.status !== 'success') process.exitCode = 1;
    return out;
  }
}
