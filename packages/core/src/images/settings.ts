import type { ImageDefinition, SmokestackConfig } from '../config/schema.js';
import type { Env } from '../paths.js';
import { defaultImageDir } from './store.js';

/** The config's image definitions and where images are kept: what container groups and `firestack image` use. */
export interface ImageSettings {
  definitions: Record<string, ImageDefinition>;
  dir: string;
}

export function imageSettings(config: Pick<SmokestackConfig, 'images' | 'containers'> | undefined, env: Env = process.env): ImageSettings {
  return { definitions: config?.images ?? {}, dir: defaultImageDir(config?.containers?.imageDir, env) };
}
