import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { Logger } from '@smokestack/core';
import { cliBin, ensureDefaultImage, requireContainers, runCli, waitFor } from '@smokestack/testkit';

/** Processes whose command line names a path under `dir` (a build's debootstrap, chroot, apt, dpkg). */
function processesUnder(dir: string): string[] {
  return fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .flatMap((p) => {
      try {
        const argv = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').join(' ');
        return argv.includes(dir) ? [`${p}: ${argv}`] : [];
      } catch {
        return [];
      }
    });
}

describe('firestack image', function () {
  this.timeout(60_000);
  let dir: string;
  let env: Record<string, string>;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-image-cli-'));
    env = { SMOKESTACK_CONFIG: path.join(dir, 'smokestack.yaml'), SMOKESTACK_IMAGE_DIR: path.join(dir, 'images'), XDG_CONFIG_HOME: path.join(dir, 'xdg') };
    fs.writeFileSync(env.SMOKESTACK_CONFIG!, 'images:\n  web:\n    packages: [curl]\n');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const firestack = (args: string[]) => runCli('firestack', args, { env, cwd: dir });

  it('list says where images live and how to build one when there is none', async () => {
    const result = await firestack(['image', 'list']);
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.contain(`No images in ${env.SMOKESTACK_IMAGE_DIR}. Build one with: firestack image build`);
    expect((await firestack(['image', 'list', '--json'])).json<{ images: unknown[] }>().images).to.deep.equal([]);
  });

  it('build and remove refuse what is not there with one line naming it, and build nothing', async () => {
    const build = await firestack(['image', 'build', 'nope']);
    expect(build.code).to.equal(1);
    expect(build.stderr.trim()).to.equal('firestack: error: image "nope" is not defined (define it under images: in smokestack.yaml; known images: default, web)');
    const remove = await firestack(['image', 'remove', 'web']);
    expect(remove.code).to.equal(1);
    expect(remove.stderr.trim()).to.match(/^firestack: error: no built image matches "web" \(no image is built\)$/);
    expect(fs.existsSync(env.SMOKESTACK_IMAGE_DIR!)).to.equal(false);
  });

  it('build keeps an image whose definition has not changed, and list shows it current (needs root, debootstrap)', async function () {
    this.timeout(40 * 60_000);
    await requireContainers(this);
    await ensureDefaultImage(new Logger({ tty: false }));
    const shared = { ...env, SMOKESTACK_IMAGE_DIR: '' };
    const build = await runCli('firestack', ['image', 'build', 'default', '--json'], { env: shared, cwd: dir });
    expect(build.code, build.stderr).to.equal(0);
    const [{ built, image }] = build.json<{ images: Array<{ built: boolean; image: { name: string; key: string } }> }>().images;
    expect(built).to.equal(false);
    const told = await runCli('firestack', ['image', 'build', 'default'], { env: shared, cwd: dir });
    expect(told.stderr).to.contain(`image default (${image.key}) is up to date: its definition has not changed`);
    const listed = (await runCli('firestack', ['image', 'list', '--json'], { env: shared, cwd: dir })).json<{ images: Array<{ key: string; current: boolean }> }>();
    expect(listed.images.find((i) => i.key === image.key)?.current).to.equal(true);
  });

  it('a build stopped by SIGINT ends every process it started and leaves no image, its output going to a file (needs root, debootstrap)', async function () {
    this.timeout(5 * 60_000);
    await requireContainers(this);
    const images = path.join(dir, 'interrupted');
    // Written to a file, as from cron or a service: no closed pipe ends the build's processes for it.
    const log = fs.openSync(path.join(dir, 'interrupted.log'), 'a');
    const child = spawn(process.execPath, [cliBin('firestack'), 'image', 'build', 'default'], { cwd: dir, env: { ...process.env, ...env, SMOKESTACK_IMAGE_DIR: images }, stdio: ['ignore', log, log] });
    fs.closeSync(log);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await waitFor('debootstrap to run', async () => processesUnder(images).some((p) => p.includes('debootstrap')) || undefined, 120_000, 100);
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited, 'firestack exits with a failure').to.not.equal(0);
    await waitFor('the build\'s processes to end', async () => processesUnder(images).length === 0 || undefined, 30_000, 100).catch(() => undefined);
    const left = processesUnder(images);
    for (const p of left) process.kill(Number(p.split(':')[0]), 'SIGKILL');
    expect(left).to.deep.equal([]);
    const listed = await runCli('firestack', ['image', 'list', '--json'], { env: { ...env, SMOKESTACK_IMAGE_DIR: images }, cwd: dir });
    expect(listed.json<{ images: unknown[] }>().images).to.deep.equal([]);
  });
});
