import { Flags } from '@smokestack/core/oclif';
import { SmokestackCommand } from '@smokestack/core/cli';
import { formatRunReport } from '@smokestack/core/pipeline/report';
import { runStep, stagesOfStep, type StepwiseOptions, type RunTemplateResult } from '@smokestack/core/pipeline/service';
import { withStageBoard } from './stage-board.js';

/** One pipeline stage on an existing server group: the shared shape of build, repo, puppet and test. */
export abstract class StepCommand extends SmokestackCommand {
  static override flags = {
    group: Flags.string({ char: 'g', description: 'existing server group to work on', required: true }),
    template: Flags.string({ char: 't', description: 'template name (templates: in smokestack.yaml)', required: true, env: 'SMOKESTACK_TEMPLATE' }),
    change: Flags.string({ description: 'PROJECT=REF, PROJECT=PATH or PROJECT=URL#REF; repeatable', multiple: true }),
    axis: Flags.string({ description: 'AXIS=VALUE: the combination of the template\'s axes (others take their first value); repeatable', multiple: true }),
  };

  protected abstract readonly step: StepwiseOptions['step'];

  async run(): Promise<RunTemplateResult> {
    const { flags } = await this.parse(this.ctor as typeof StepCommand);
    const out = await withStageBoard(this.progress, stagesOfStep(this.step), (display) =>
      runStep({
        loaded: this.settings,
        template: flags.template,
        group: flags.group,
        step: this.step,
        changes: flags.change ?? [],
        axes: flags.axis ?? [],
        ...this.providerContext(),
        ...display,
      }),
    );
    for (const line of formatRunReport(out.result, out.page)) this.log(line);
    if (out.result.status !== 'success') process.exitCode = 1;
    return out;
  }
}
