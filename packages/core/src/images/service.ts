import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';
import type { ImageDefinition, SmokestackConfig } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import type { Env } from '../paths.js';
import { TemplateRenderer } from '../render/render.js';
import { hostCodename, readAptSources } from './apt-sources.js';
import { IMAGE_SETUP_TEMPLATE, ensureImage, type EnsuredImage } from './build.js';
import { imageDefinitions, resolveImage, type ImageEnvironment, type ImageSpec } from './definition.js';
import type { ImageSettings } from './settings.js';
import { ImageStore, type ImageRecord } from './store.js';

export { imageSettings, type ImageSettings } from './settings.js';

/** This machine as image builds see it: its release, apt's sources, and the setup script's text. */
export function imageEnvironment(renderer: TemplateRenderer = new TemplateRenderer()): ImageEnvironment {
  return {
    hostSuite: hostCodename(),
    aptSources: readAptSources('/'),
    setupScript: fs.readFileSync(path.join(renderer.dir, IMAGE_SETUP_TEMPLATE), 'utf8'),
  };
}

export function imageSpec(name: string, settings: ImageSettings, env: ImageEnvironment = imageEnvironment()): ImageSpec {
  return resolveImage(name, settings.definitions, env);
}

export interface BuildImagesOptions {
  logger: Logger;
  rebuild?: boolean;
  signal?: AbortSignal;
}

/** Builds the named images (default: every defined image) unless already built with the same definition. */
export async function buildImages(names: string[], settings: ImageSettings, options: BuildImagesOptions): Promise<EnsuredImage[]> {
  const wanted = names.length > 0 ? names : Object.keys(imageDefinitions(settings.definitions)).sort();
  const env = imageEnvironment();
  const specs = wanted.map((name) => resolveImage(name, settings.definitions, env));
  const store = new ImageStore(settings.dir);
  const out: EnsuredImage[] = [];
  for (const spec of specs) {
    const cached = store.find(spec);
    if (cached && !options.rebuild) options.logger.info(`image ${spec.name} (${spec.key}) is up to date: its definition has not changed`);
    else options.logger.info(`building image ${spec.name} (${spec.key}): ${spec.suite} with ${spec.packages.length} packages, into ${store.pathOf(spec)}`);
    out.push(await ensureImage(spec, store, options));
  }
  return out;
}

export interface ImageListEntry extends ImageRecord {
  /** Built from the definition the config has now (false: the definition changed or is gone). */
  current: boolean;
  /** Containers on this machine whose lower layer this image is. */
  containers: number;
}

/** Built images, each marked current or stale against the config and with the containers using it. */
export function listImages(settings: ImageSettings, usedRootfs: readonly string[] = []): ImageListEntry[] {
  let env: ImageEnvironment | undefined;
  const currentKey = (name: string): string | undefined => {
    try {
      env ??= imageEnvironment();
      return resolveImage(name, settings.definitions, env).key;
    } catch {
      return undefined;
    }
  };
  return new ImageStore(settings.dir).list().map((image) => ({
    ...image,
    current: currentKey(image.name) === image.key,
    containers: usedRootfs.filter((r) => r === image.rootfs).length,
  }));
}

export interface RemoveImagesOptions {
  /** Remove every image not built from the current definitions (instead of naming them). */
  stale?: boolean;
}

/** Removes images by name, `name-key` or key; an image a container still runs on is refused. */
export function removeImages(refs: string[], settings: ImageSettings, usedRootfs: readonly string[], options: RemoveImagesOptions = {}): ImageListEntry[] {
  const all = listImages(settings, usedRootfs);
  let doomed: ImageListEntry[];
  if (options.stale) doomed = all.filter((i) => !i.current && i.containers === 0);
  else {
    if (refs.length === 0) throw new UserError('name the images to remove, or pass --stale', { hint: 'firestack image list shows them' });
    doomed = refs.flatMap((ref) => {
      const found = all.filter((i) => i.name === ref || `${i.name}-${i.key}` === ref || (ref.length >= 4 && i.key.startsWith(ref)));
      if (found.length === 0) throw new UserError(`no built image matches "${ref}"`, { hint: all.length ? `images: ${all.map((i) => `${i.name}-${i.key}`).join(', ')}` : 'no image is built' });
      return found;
    });
  }
  for (const image of doomed) {
    if (image.containers > 0) {
      throw new UserError(`image ${image.name}-${image.key} is in use by ${image.containers} container(s)`, { hint: 'delete their groups first (firestack group list)' });
    }
  }
  const store = new ImageStore(settings.dir);
  for (const image of doomed) store.remove(image);
  return doomed;
}
