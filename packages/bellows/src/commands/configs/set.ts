import { Args, Flags } from '@smokestack/core/oclif';
import { SmokestackCommand } from '@smokestack/core/cli';
import { setConfigSources, type ConfigView } from '@smokestack/core/bellows/configs';
import { formatConfigView } from '../../config-view.js';

export default class ConfigsSet extends SmokestackCommand {
  static override summary = 'Customise a test configuration\'s sources: another branch of a project, and whether to merge it with trunk.';
  static override description =
    'A source set by hand survives later syncs of the change (a new patch set moves only the change\'s own source) until "configs reset". ' +
    'It takes effect for jobs that start from now on; comment "recheck" on the change to run its current patch set again.';
  static override examples = [
    '<%= config.bin %> configs set openstack/nova~1045 --source openstack/glance=https://git.example.org/glance#quota-fix --merge-trunk',
    '<%= config.bin %> configs set 1045 --source openstack/puppet-nova=refs/changes/77/1077/3',
    '<%= config.bin %> configs set 1045 --source openstack/nova --no-merge-trunk --json',
  ];
  static override args = { id: Args.string({ description: 'test config id (PROJECT~NUMBER) or change number', required: true }) };
  static override flags = {
    source: Flags.string({ char: 's', description: 'PROJECT=URL#REF, PROJECT=REF, or PROJECT (only the merge flag); repeatable', multiple: true, required: true }),
    'merge-trunk': Flags.boolean({ description: 'merge these sources onto the tip of the change\'s branch before building (--no-merge-trunk: build them as they are)', allowNo: true }),
  };

  async run(): Promise<ConfigView> {
    const { args, flags } = await this.parse(ConfigsSet);
    const view = await setConfigSources(
      { store: this.store, loaded: this.settings, now: () => new Date() },
      args.id,
      { sources: flags.source, ...(flags['merge-trunk'] !== undefined ? { mergeTrunk: flags['merge-trunk'] } : {}) },
    );
    for (const line of formatConfigView(view, this.globals.color)) this.log(line);
    return view;
  }
}
