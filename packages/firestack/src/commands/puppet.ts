import { StepCommand } from '../step-command.js';

export default class Puppet extends StepCommand {
  static override summary = 'Apply the template\'s Puppet manifests on an existing server group, twice, requiring the second apply to change nothing.';
  static override examples = ['<%= config.bin %> puppet --group demo-dev --template demo'];

  protected readonly step = 'puppet' as const;
}
