import { Flags } from '@smokestack/core/oclif';
import { SmokestackCommand } from '@smokestack/core/cli';
import { reportFromConfig, type ReportResult } from '@smokestack/core/review/service';

export default class Report extends SmokestackCommand {
  static override summary = 'Write the review report: open changes ranked by bug/blueprint priority and age, with test results.';
  static override description =
    'Reads the open changes of each project from Gerrit, the importance of each linked bug (topic bug/N) or the priority of ' +
    'each blueprint (bp/NAME) from Launchpad, and the integration-test results of each current patch set from the state ' +
    'store; writes DIR/index.html (self-contained, sortable, filterable) and DIR/reviewday.json. A Launchpad outage ' +
    'shows priorities as unknown instead of failing. After the first run only changes updated since the last one are read ' +
    'from Gerrit (all of them once a day, or with --full); --offline renders from what the last run saved.';

  static override examples = [
    '<%= config.bin %> report',
    '<%= config.bin %> report --out /var/www/reviewday --project openstack/nova --project openstack/glance',
    '<%= config.bin %> report --project-file projects.yaml --offline --json',
  ];

  static override flags = {
    out: Flags.string({ char: 'o', description: 'directory for index.html and reviewday.json (default: config report.out, else ./out_report)', env: 'REVIEWDAY_OUT' }),
    project: Flags.string({ char: 'p', description: 'report only this Gerrit project (repeatable)', multiple: true }),
    'project-file': Flags.string({
      description: 'YAML/JSON projects file, the original ReviewDay shape: projects: [{name, launchpad_project}]',
      env: 'REVIEWDAY_PROJECT_FILE',
    }),
    offline: Flags.boolean({
      description: 'contact neither Gerrit nor Launchpad: render the open changes the last report saved, with cached priorities',
      env: 'REVIEWDAY_OFFLINE',
      default: false,
      exclusive: ['full'],
    }),
    full: Flags.boolean({ description: 'read every open change from Gerrit, not only those updated since the last report', default: false }),
  };

  async run(): Promise<ReportResult> {
    const { flags } = await this.parse(Report);
    const result = await reportFromConfig({
      loaded: this.settings,
      store: this.store,
      out: flags.out,
      projects: flags.project,
      projectFile: flags['project-file'],
      offline: flags.offline,
      full: flags.full,
      logger: this.progress,
    });
    for (const project of result.projects) {
      this.log(`${project.name}: ${project.changes} changes${project.excluded ? ` (${project.excluded} work in progress left out)` : ''}`);
    }
    if (result.changesAsOf) this.log(`Open changes as of ${result.changesAsOf} (saved snapshot; Gerrit not asked).`);
    this.log(`Wrote ${result.indexPath} and ${result.jsonPath} (${result.changes} changes in ${result.projects.length} projects).`);
    return result;
  }
}
