import fs from 'node:fs';
import path from 'node:path';
import { InfraError, UserError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { findProgram, runCommand } from '../machine/command.js';
import { TemplateRenderer } from '../render/render.js';
import type { ImageSpec } from './definition.js';
import type { ImageRecord, ImageStore } from './store.js';

/** The template that finishes every image (its text is part of each image's key). */
export const IMAGE_SETUP_TEMPLATE = 'image-setup.sh.hbs';

export interface BuildImageOptions {
  logger: Logger;
  signal?: AbortSignal;
  /** Build again even when an image with this key exists. */
  rebuild?: boolean;
  renderer?: TemplateRenderer;
  now?: () => Date;
  /** How long to wait for another process building the same image (default 1 h). */
  lockTimeoutMs?: number;
}

export interface EnsuredImage {
  image: ImageRecord;
  /** False when the image was already built (its definition had not changed). */
  built: boolean;
}

/**
 * The image for a spec: the one already built with its key, or a new build. One process builds a
 * given image at a time; others wait for it and use its result. A build goes to `<image>.partial`
 * and is renamed into place only when complete, so an interrupted build is never used.
 */
export async function ensureImage(spec: ImageSpec, store: ImageStore, options: BuildImageOptions): Promise<EnsuredImage> {
  const existing = store.find(spec);
  if (existing && !options.rebuild) return { image: existing, built: false };
  await assertTools();
  const release = await store.lock(spec, options.lockTimeoutMs ?? 3_600_000);
  try {
    const ready = store.find(spec);
    if (ready && !options.rebuild) return { image: ready, built: false };
    if (ready) store.remove(ready);
    return { image: await buildImage(spec, store, options), built: true };
  } finally {
    release();
  }
}

async function assertTools(): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new UserError('building a container image needs root (debootstrap and chroot)', { hint: 'run firestack image build as root, e.g. with sudo' });
  }
  for (const tool of ['debootstrap', 'unshare', 'chroot']) {
    if (!findProgram(tool)) {
      throw new UserError(`${tool} is not installed`, { hint: 'install it with: sudo scripts/install-system-packages.sh (Debian/Ubuntu: apt-get install debootstrap; Fedora: dnf install debootstrap)' });
    }
  }
}

async function buildImage(spec: ImageSpec, store: ImageStore, options: BuildImageOptions): Promise<ImageRecord> {
  const now = options.now ?? (() => new Date());
  const started = Date.now();
  const final = store.pathOf(spec);
  const partial = `${final}.partial`;
  const rootfs = path.join(partial, 'rootfs');
  fs.rmSync(partial, { recursive: true, force: true });
  fs.mkdirSync(partial, { recursive: true });
  const cache = store.cacheDir(spec.suite);
  fs.mkdirSync(cache, { recursive: true });
  const renderer = options.renderer ?? new TemplateRenderer();
  try {
    await imageSteps(spec, rootfs, cache, renderer, options);
  } catch (err) {
    // Never used, and rebuilt from nothing by the next build: hundreds of MB kept for nobody. The log says what failed.
    fs.rmSync(partial, { recursive: true, force: true });
    throw err;
  }
  const record: Omit<ImageRecord, 'dir' | 'rootfs'> = {
    name: spec.name,
    key: spec.key,
    suite: spec.suite,
    mirror: spec.mirror,
    components: spec.components,
    packages: spec.packages,
    builtAt: now().toISOString(),
    buildSeconds: Math.round((Date.now() - started) / 1000),
    sizeBytes: await diskUsage(rootfs),
  };
  fs.writeFileSync(path.join(partial, 'image.json'), `${JSON.stringify(record, null, 2)}\n`);
  fs.renameSync(partial, final);
  options.logger.info(`image ${spec.name} (${spec.key}) built in ${record.buildSeconds} s, ${Math.round(record.sizeBytes / 1_048_576)} MB`);
  return { ...record, dir: final, rootfs: path.join(final, 'rootfs') };
}

function debootstrapArgs(spec: ImageSpec, rootfs: string, cache: string): string[] {
  return [
    'debootstrap',
    '--foreign',
    '--variant=minbase',
    `--components=${spec.components.join(',')}`,
    `--cache-dir=${cache}`,
    ...(spec.keyring ? [`--keyring=${spec.keyring}`] : []),
    spec.suite,
    rootfs,
    spec.mirror,
  ];
}

/**
 * A command run inside the new root in a mount and pid namespace of its own: whatever it mounts
 * (proc, debootstrap's own mounts) and every process it starts go away with it, even when killed.
 */
function inRoot(rootfs: string, argv: string[], mountProc: boolean): string[] {
  return ['unshare', '--mount', '--pid', '--fork', '--kill-child', ...(mountProc ? [`--mount-proc=${path.join(rootfs, 'proc')}`] : []), 'chroot', rootfs, ...argv];
}

/** Runs one build command, its output as the step's progress line; a failure names the step and its last lines. */
async function step(log: Logger, what: string, argv: string[], signal?: AbortSignal): Promise<void> {
  const tail: string[] = [];
  const progress = throttled(log);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C.UTF-8', PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' };
  const result = await runCommand(argv, {
    signal,
    env,
    onLine: (line) => {
      tail.push(line);
      if (tail.length > 5) tail.shift();
      progress(line);
    },
  });
  if (signal?.aborted) throw new InfraError(`image build stopped during ${what}`);
  if (result.code !== 0) throw new InfraError(`image build failed in ${what} (exit ${result.code}): ${tail.join(' | ')}`);
}

/** Every line at debug level; at most one info line a second (a TTY shows it as the step's live line). */
function throttled(log: Logger): (line: string) => void {
  let last = 0;
  return (line) => {
    if (log.verbose) return log.debug(line);
    const now = Date.now();
    if (now - last >= (log.tty ? 200 : 5000)) {
      last = now;
      log.info(line);
    }
  };
}

async function diskUsage(dir: string): Promise<number> {
  const result = await runCommand(['du', '-sb', '--one-file-system', dir]);
  return Number(result.stdout.split(/\s/)[0]) || 0;
}

/** debootstrap, its second stage, then the packages and the image's own setup, into `rootfs`. */
async function imageSteps(spec: ImageSpec, rootfs: string, cache: string, renderer: TemplateRenderer, options: BuildImageOptions): Promise<void> {
  const extra = spec.packages.length;
  await options.logger.steps(
    [
      {
        title: `download and unpack ${spec.suite} from ${spec.mirror} (debootstrap)`,
        run: (_c, log) => step(log, 'debootstrap', debootstrapArgs(spec, rootfs, cache), options.signal),
      },
      {
        title: `install the base system`,
        run: async (_c, log) => {
          fs.mkdirSync(path.join(rootfs, 'etc', 'dpkg', 'dpkg.cfg.d'), { recursive: true });
          // Images are rebuilt, never repaired: skipping dpkg's fsync per file makes a build several times faster.
          fs.writeFileSync(path.join(rootfs, 'etc', 'dpkg', 'dpkg.cfg.d', 'smokestack-unsafe-io'), 'force-unsafe-io\n');
          await step(log, 'second stage', inRoot(rootfs, ['/debootstrap/debootstrap', '--second-stage'], false), options.signal);
        },
      },
      {
        title: `install ${extra} packages and seal the image`,
        run: async (_c, log) => {
          fs.copyFileSync('/etc/resolv.conf', path.join(rootfs, 'etc', 'resolv.conf'));
          const script = renderer.render(IMAGE_SETUP_TEMPLATE, { packages: spec.packages, name: spec.name, key: spec.key });
          await step(log, 'setup', inRoot(rootfs, ['/bin/sh', '-c', script], true), options.signal);
        },
      },
    ],
    {},
  );
}
