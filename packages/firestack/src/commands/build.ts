import { StepCommand } from '../step-command.js';

export default class Build extends StepCommand {
  static override summary = 'Build the template\'s packages on an existing server group (fetch each source, record its revision, dpkg-buildpackage).';
  static override examples = ['<%= config.bin %> build --group demo-dev --template demo', '<%= config.bin %> build --group demo-dev --template demo --change demoapp=../demoapp'];

  protected readonly step = 'build' as const;
}
