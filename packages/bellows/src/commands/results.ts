import { Args } from '@smokestack/core/oclif';
import { SmokestackCommand } from '@smokestack/core/cli';
import { webSettings } from '@smokestack/core/web/layout';
import { formatResults, parseResultsKey, resultsFromStore, type ResultsDocument } from '@smokestack/core/web/results';

export default class Results extends SmokestackCommand {
  static override summary = 'Every job\'s result for a revision (or a change\'s patch set): counts, failed and skipped tests, and each job\'s page.';
  static override description = 'The same document the pages directory holds as revisions/<sha>.json and changes/<number>/<patch set>.json.';
  static override examples = ['<%= config.bin %> results 3f2a9c1b', '<%= config.bin %> results 1234,5 --json'];
  static override args = { revision: Args.string({ description: 'a revision (at least 4 hex digits of its SHA), or NUMBER,PATCHSET', required: true }) };

  async run(): Promise<ResultsDocument> {
    const { args } = await this.parse(Results);
    const doc = await resultsFromStore(this.store, parseResultsKey(args.revision), webSettings(this.settings, this.store), new Date());
    for (const line of formatResults(doc)) this.log(line);
    return doc;
  }
}
