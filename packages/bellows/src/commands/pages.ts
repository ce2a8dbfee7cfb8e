import { Args } from '@smokestack/core/oclif';
import { SmokestackCommand } from '@smokestack/core/cli';
import { republishJobs, type RepublishResult } from '@smokestack/core/web/publish';

export default class Pages extends SmokestackCommand {
  static override summary = 'Write (again) the pages of jobs and their results by revision into the pages directory (web.dir).';
  static override description =
    'Workers write a job\'s page when they take it, as each stage ends and when it finishes. This rewrites them: the named jobs (live or from history), ' +
    'or every job the live state holds that has started.';
  static override examples = ['<%= config.bin %> pages', '<%= config.bin %> pages j42 j43 --json'];
  static override strict = false;
  static override args = { job: Args.string({ description: 'job ids (default: every started job of the live state)' }) };

  async run(): Promise<RepublishResult> {
    const { argv } = await this.parse(Pages);
    const result = await republishJobs({ store: this.store, loaded: this.settings, logger: this.progress, ids: argv as string[] });
    for (const p of result.pages) this.log(`${p.job}: ${p.page}`);
    this.log(`${result.pages.length} page(s) written in ${result.dir}${result.failed.length ? `, ${result.failed.length} failed` : ''}`);
    if (result.failed.length) process.exitCode = 1;
    return result;
  }
}
