import { SmokestackCommand, formatAge, renderTable } from '@smokestack/core/cli';
import { imageSettings, listImages, type ImageListEntry } from '@smokestack/core/images/service';
import { imageRootfsInUse } from '@smokestack/core/providers/container-state';

export default class ImageList extends SmokestackCommand {
  static override summary = 'List built container images: whether each matches its current definition, its size and the containers using it.';
  static override examples = ['<%= config.bin %> image list', '<%= config.bin %> image list --json'];

  async run(): Promise<{ dir: string; images: ImageListEntry[] }> {
    await this.parse(ImageList);
    const settings = imageSettings(this.settings.config, process.env);
    const images = listImages(settings, imageRootfsInUse());
    const now = new Date();
    this.log(
      images.length === 0
        ? `No images in ${settings.dir}. Build one with: firestack image build`
        : renderTable(
            ['image', 'key', 'suite', 'packages', 'size', 'built', 'definition', 'containers'],
            images.map((i) => [i.name, i.key, i.suite, String(i.packages.length), `${Math.round(i.sizeBytes / 1_048_576)} MB`, formatAge(i.builtAt, now), i.current ? 'current' : 'stale', String(i.containers)]),
            { color: this.globals.color },
          ),
    );
    return { dir: settings.dir, images };
  }
}
