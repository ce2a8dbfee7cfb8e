import { StepCommand } from '../step-command.js';

export default class Test extends StepCommand {
  static override summary = 'Run the template\'s test suites on an existing server group and collect their JUnit XML or subunit results.';
  static override examples = ['<%= config.bin %> test --group demo-dev --template demo'];

  protected readonly step = 'test' as const;
}
