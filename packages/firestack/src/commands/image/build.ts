import { Args, Flags } from '@smokestack/core/oclif';
import { SmokestackCommand, renderTable } from '@smokestack/core/cli';
import { buildImages, imageSettings } from '@smokestack/core/images/service';
import type { EnsuredImage } from '@smokestack/core/images/build';

export default class ImageBuild extends SmokestackCommand {
  static override summary = 'Build base images for container groups from Debian packages (debootstrap); an image whose definition has not changed is kept.';
  static override description =
    'Images are defined under images: in smokestack.yaml (suite, mirror, packages); "default" is built in. The mirror is the one apt on this machine uses unless the definition names one.';
  static override strict = false;
  static override examples = ['<%= config.bin %> image build', '<%= config.bin %> image build default --rebuild'];

  static override args = {
    names: Args.string({ description: 'image names (default: every defined image)', required: false }),
  };

  static override flags = {
    rebuild: Flags.boolean({ description: 'build again even when the definition has not changed' }),
  };

  async run(): Promise<{ images: EnsuredImage[] }> {
    const { argv, flags } = await this.parse(ImageBuild);
    const settings = imageSettings(this.settings.config, process.env);
    const images = await buildImages(argv as string[], settings, { logger: this.progress, rebuild: flags.rebuild });
    this.log(
      renderTable(
        ['image', 'key', 'suite', 'packages', 'size', 'built'],
        images.map(({ image, built }) => [image.name, image.key, image.suite, String(image.packages.length), `${Math.round(image.sizeBytes / 1_048_576)} MB`, built ? 'now' : `cached (${image.builtAt})`]),
        { color: this.globals.color },
      ),
    );
    return { images };
  }
}
