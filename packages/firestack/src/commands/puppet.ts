import { Flags } from '@oclif/core';
import { SmokestackCommand } from '@smokestack/core/cli';
import { formatRunReport, runStep, type RunTemplateResult } from '@smokestack/core';

export default class Puppet extends SmokestackCommand {
  static override summary = 'Apply the template\'s Puppet manifests on an existing server group, twice, requiring the second apply to change nothing.';
  static override examples = ['<%= config.bin %> puppet --group demo-dev --template demo'];

  static override flags = {
    group: Flags.string({ char: 'g', description: 'existing server group to work on', required: true }),
    template: Flags.string({ char: 't', description: 'template name (templates: in smokestack.yaml)', required: true, env: 'SMOKESTACK_TEMPLATE' }),
    change: Flags.string({ description: 'PROJECT=REF, PROJECT=PATH or PROJECT=URL#REF; repeatable', multiple: true }),
  };

  async run(): Promise<RunTemplateResult> {
    const { flags } = await this.parse(Puppet);
    const out = await runStep({
      loaded: this.settings,
      template: flags.template,
      group: flags.group,
      step: 'puppet',
      changes: flags.change ?? [],
      store: this.store,
      logger: this.progress,
    });
    for (const line of formatRunReport(out.result)) this.log(line);
    if (out.result.status !== 'success') process.exitCode = 1;
    return out;
  }
}
