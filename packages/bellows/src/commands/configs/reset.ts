import { Args, Flags } from '@smokestack/core/oclif';
import { SmokestackCommand } from '@smokestack/core/cli';
import { resetConfigSources, type ConfigView } from '@smokestack/core/bellows/configs';
import { formatConfigView } from '../../config-view.js';

export default class ConfigsReset extends SmokestackCommand {
  static override summary = 'Drop the sources set by hand on a test configuration: back to the change\'s and the project\'s.';
  static override examples = ['<%= config.bin %> configs reset openstack/nova~1045', '<%= config.bin %> configs reset 1045 --source openstack/glance --json'];
  static override args = { id: Args.string({ description: 'test config id (PROJECT~NUMBER) or change number', required: true }) };
  static override flags = {
    source: Flags.string({ char: 's', description: 'only this project\'s source (repeatable; default: all)', multiple: true }),
  };

  async run(): Promise<ConfigView> {
    const { args, flags } = await this.parse(ConfigsReset);
    const view = await resetConfigSources({ store: this.store, loaded: this.settings, now: () => new Date() }, args.id, flags.source ?? []);
    for (const line of formatConfigView(view, this.globals.color)) this.log(line);
    return view;
  }
}
