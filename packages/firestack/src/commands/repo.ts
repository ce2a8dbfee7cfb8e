import { Flags } from '@oclif/core';
import { SmokestackCommand } from '@smokestack/core/cli';
import { formatRunReport, runStep, type RunTemplateResult } from '@smokestack/core';

export default class Repo extends SmokestackCommand {
  static override summary = 'Publish the packages built by `firestack build` as an apt repository on the group\'s gateway and point every host at it.';
  static override examples = ['<%= config.bin %> repo --group demo-dev --template demo'];

  static override flags = {
    group: Flags.string({ char: 'g', description: 'existing server group to work on', required: true }),
    template: Flags.string({ char: 't', description: 'template name (templates: in smokestack.yaml)', required: true, env: 'SMOKESTACK_TEMPLATE' }),
    change: Flags.string({ description: 'PROJECT=REF, PROJECT=PATH or PROJECT=URL#REF; repeatable', multiple: true }),
  };

  async run(): Promise<RunTemplateResult> {
    const { flags } = await this.parse(Repo);
    const out = await runStep({
      loaded: this.settings,
      template: flags.template,
      group: flags.group,
      step: 'repo',
      changes: flags.change ?? [],
      store: this.store,
      logger: this.progress,
    });
    for (const line of formatRunReport(out.result)) this.log(line);
    if (out.result.status !== 'success') process.exitCode = 1;
    return out;
  }
}
