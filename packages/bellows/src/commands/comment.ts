import { Args, Flags } from '@smokestack/core/oclif';
import { SmokestackCommand } from '@smokestack/core/cli';
import { commentResults, type CommentResult } from '@smokestack/core/bellows/comment';
import { createBellowsContext } from '@smokestack/core/bellows/context';

export default class Comment extends SmokestackCommand {
  static override summary = 'Post one review per finished current patch set: results per template and a Verified vote.';
  static override description =
    'Votes -1 on a build failure or a test failure this change caused; a failure its target branch has too (its baseline), ' +
    'a flaky or a quarantined test never votes -1, and the review says which each failing test is. No vote while an infrastructure ' +
    'failure stands or a test its template requires did not run. Otherwise +1. ' +
    'The vote is cast only while the revision is still current; each patch set is reported once.';
  static override examples = ['<%= config.bin %> comment', '<%= config.bin %> comment openstack/nova --dry-run --json'];
  static override strict = false;
  static override args = { project: Args.string({ description: 'only these configured projects (default: all)' }) };
  static override flags = {
    'dry-run': Flags.boolean({ description: 'show the reviews without posting or recording them' }),
  };

  async run(): Promise<CommentResult> {
    const { argv, flags } = await this.parse(Comment);
    const ctx = createBellowsContext({ loaded: this.settings, store: this.store, logger: this.progress });
    const result = await commentResults(ctx, { projects: argv as string[], dryRun: flags['dry-run'] });
    if (flags['dry-run']) for (const p of result.posted) this.log(`--- ${p.configId},${p.patchSet} (${p.vote === null ? 'no vote' : `${p.label} ${p.vote}`})\n${p.message}`);
    this.log(
      `${result.posted.length} review(s) ${result.dryRun ? 'would be ' : ''}posted, ` +
        (result.recovered.length ? `${result.recovered.length} found already posted by an interrupted run, ` : '') +
        `${result.skipped.length} skipped (outdated or closed), ` +
        `${result.waiting.length} waiting for jobs, ${result.errors.length} failed.`,
    );
    for (const e of result.errors) this.logToStderr(`${this.config.bin}: error: ${e.configId},${e.patchSet}: ${e.message}`);
    if (result.errors.length) process.exitCode = 1;
    return result;
  }
}
