import { Args, Flags } from '@smokestack/core/oclif';
import { SmokestackCommand } from '@smokestack/core/cli';
import { imageSettings, removeImages } from '@smokestack/core/images/service';
import { imageRootfsInUse } from '@smokestack/core/providers/container-state';

export default class ImageRemove extends SmokestackCommand {
  static override summary = 'Remove built container images by name, name-key or key; --stale removes every image its definition no longer produces.';
  static override strict = false;
  static override examples = ['<%= config.bin %> image remove default', '<%= config.bin %> image remove --stale'];

  static override args = {
    images: Args.string({ description: 'image names, name-key or keys', required: false }),
  };

  static override flags = {
    stale: Flags.boolean({ description: 'remove every unused image not built from the current definitions' }),
  };

  async run(): Promise<{ removed: Array<{ name: string; key: string }> }> {
    const { argv, flags } = await this.parse(ImageRemove);
    const removed = removeImages(argv as string[], imageSettings(this.settings.config, process.env), imageRootfsInUse(), { stale: flags.stale });
    this.log(removed.length === 0 ? 'Nothing to remove.' : removed.map((i) => `Removed image ${i.name}-${i.key}.`).join('\n'));
    return { removed: removed.map((i) => ({ name: i.name, key: i.key })) };
  }
}
