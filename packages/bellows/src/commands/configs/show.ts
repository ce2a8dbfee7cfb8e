import { Args } from '@smokestack/core/oclif';
import { SmokestackCommand } from '@smokestack/core/cli';
import { showConfig, type ConfigView } from '@smokestack/core/bellows/configs';
import { formatConfigView } from '../../config-view.js';

export default class ConfigsShow extends SmokestackCommand {
  static override summary = 'Show a test configuration with every source: project, URL, ref, merge with trunk, and where it comes from.';
  static override examples = ['<%= config.bin %> configs show openstack/nova~1045', '<%= config.bin %> configs show 1045 --json'];
  static override args = { id: Args.string({ description: 'test config id (PROJECT~NUMBER) or change number', required: true }) };

  async run(): Promise<ConfigView> {
    const { args } = await this.parse(ConfigsShow);
    const view = await showConfig({ store: this.store, loaded: this.settings, now: () => new Date() }, args.id);
    for (const line of formatConfigView(view, this.globals.color)) this.log(line);
    return view;
  }
}
