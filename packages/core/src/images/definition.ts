import { createHash } from 'node:crypto';
import { UserError } from '../errors.js';
import type { ImageDefinition } from '../config/schema.js';
import { pickMirror, type AptSource } from './apt-sources.js';

/** The image a container group uses when its definition names none. */
export const DEFAULT_IMAGE = 'default';

/** What every container needs to boot and be reached: an init, sshd, the ip tool. Always installed. */
export const CONTAINER_PACKAGES: readonly string[] = ['systemd', 'systemd-sysv', 'dbus', 'openssh-server', 'iproute2', 'procps', 'netbase'];

/** What the built-in default image adds: Puppet and the Debian build toolchain the pipeline's stages use. */
export const DEFAULT_IMAGE_PACKAGES: readonly string[] = ['puppet', 'ruby-bootsnap', 'git', 'build-essential', 'debhelper', 'dpkg-dev', 'fakeroot'];

/** Bumped when the way images are built changes in a way the definition does not show. */
export const IMAGE_FORMAT = 1;

/** An image definition with every default filled in: what a build needs and what its key covers. */
export interface ImageSpec {
  name: string;
  suite: string;
  mirror: string;
  components: string[];
  /** Sorted and unique, including CONTAINER_PACKAGES. */
  packages: string[];
  keyring?: string;
  /** Identifies the content: changes exactly when the image must be rebuilt. */
  key: string;
}

export interface ImageEnvironment {
  /** This machine's release codename (os-release VERSION_CODENAME). */
  hostSuite?: string;
  /** The sources apt on this machine is configured with. */
  aptSources: readonly AptSource[];
  /** Text of the script that finishes an image (part of the key: a change to it rebuilds images). */
  setupScript: string;
}

/** The configured images plus the built-in default (which `images.default` replaces). */
export function imageDefinitions(configured: Readonly<Record<string, ImageDefinition>> = {}): Record<string, ImageDefinition> {
  return { [DEFAULT_IMAGE]: { components: ['main'], packages: [...DEFAULT_IMAGE_PACKAGES] }, ...configured };
}

/**
 * Pure: resolves a named image definition against this machine (its release, apt's mirror) into
 * a buildable spec and its key. The mirror is not part of the key: the same packages from
 * another mirror are the same image.
 */
export function resolveImage(name: string, configured: Readonly<Record<string, ImageDefinition>> | undefined, env: ImageEnvironment): ImageSpec {
  const definitions = imageDefinitions(configured);
  const def = definitions[name];
  if (!def) {
    throw new UserError(`image "${name}" is not defined`, { hint: `define it under images: in smokestack.yaml; known images: ${Object.keys(definitions).sort().join(', ')}` });
  }
  const suite = def.suite ?? env.hostSuite;
  if (!suite) throw new UserError(`images.${name}.suite: this machine's release is unknown`, { hint: 'set suite: (e.g. bookworm) in the image definition' });
  const source = def.mirror ? undefined : pickMirror(env.aptSources.filter((s) => /^(https?|file):/.test(s.uri)), suite, env.hostSuite);
  const mirror = def.mirror ?? source?.uri;
  if (!mirror) {
    throw new UserError(`images.${name}.mirror: apt on this machine has no source for ${suite}`, { hint: 'set mirror: to the Debian archive to install from' });
  }
  const packages = [...new Set([...CONTAINER_PACKAGES, ...def.packages])].sort();
  const components = def.components.length > 0 ? [...def.components] : ['main'];
  const key = imageKey({ suite, components, packages, setupScript: env.setupScript });
  const keyring = def.keyring ?? source?.signedBy;
  return { name, suite, mirror: mirror.replace(/\/+$/, ''), components, packages, ...(keyring ? { keyring } : {}), key };
}

/** Twelve hex digits of a hash over everything that decides an image's content. */
export function imageKey(content: { suite: string; components: string[]; packages: string[]; setupScript: string }): string {
  const text = JSON.stringify({ format: IMAGE_FORMAT, suite: content.suite, components: content.components, packages: content.packages, setup: content.setupScript });
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}
