import { StepCommand } from '../step-command.js';

export default class Repo extends StepCommand {
  static override summary = 'Publish the packages built by `firestack build` as an apt repository on the group\'s gateway and point every host at it.';
  static override examples = ['<%= config.bin %> repo --group demo-dev --template demo'];

  protected readonly step = 'repo' as const;
}
