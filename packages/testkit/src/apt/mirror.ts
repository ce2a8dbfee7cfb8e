import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** A package the mirror offers: an empty `Architecture: all` package, enough to be a build dependency. */
export interface MirrorPackage {
  name: string;
  version?: string;
}

/**
 * A Debian package mirror on 127.0.0.1: a flat repository of real .debs (dpkg-deb, dpkg-scanpackages)
 * served over HTTP, and a private apt configuration (`APT_CONFIG`) whose only source it is. The system's
 * own sources, lists and caches are untouched. `stop()` closes the port, like a mirror that went away.
 */
export interface AptMirror {
  url: string;
  /** The file to point APT_CONFIG at. */
  aptConfig: string;
  readonly running: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Stops serving and removes every file. */
  close(): Promise<void>;
}

function buildPackage(repo: string, work: string, pkg: MirrorPackage): void {
  const root = path.join(work, pkg.name);
  fs.mkdirSync(path.join(root, 'DEBIAN'), { recursive: true });
  fs.writeFileSync(
    path.join(root, 'DEBIAN', 'control'),
    `Package: ${pkg.name}\nVersion: ${pkg.version ?? '1.0'}\nArchitecture: all\nMaintainer: SmokeStack <smokestack@example.org>\nDescription: ${pkg.name} for SmokeStack tests\n`,
  );
  execFileSync('dpkg-deb', ['--build', root, path.join(repo, `${pkg.name}_${pkg.version ?? '1.0'}_all.deb`)], { stdio: 'ignore' });
}

/** A private apt configuration whose only source is the mirror; the system's lists and caches stay untouched. */
function writeAptConfig(aptDir: string, url: string): string {
  for (const sub of ['lists/partial', 'cache/archives/partial', 'sources.list.d']) fs.mkdirSync(path.join(aptDir, sub), { recursive: true });
  fs.writeFileSync(path.join(aptDir, 'sources.list'), `deb [trusted=yes] ${url} ./\n`);
  const aptConfig = path.join(aptDir, 'apt.conf');
  fs.writeFileSync(
    aptConfig,
    [
      `Dir::Etc::sourcelist "${path.join(aptDir, 'sources.list')}";`,
      `Dir::Etc::sourceparts "${path.join(aptDir, 'sources.list.d')}";`,
      `Dir::State::lists "${path.join(aptDir, 'lists')}";`,
      `Dir::Cache "${path.join(aptDir, 'cache')}";`,
      // No retries against a mirror that is gone: the failure is what a test wants to see.
      'Acquire::Retries "0";',
      '',
    ].join('\n'),
  );
  return aptConfig;
}

export async function startAptMirror(options: { packages?: MirrorPackage[] } = {}): Promise<AptMirror> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-apt-mirror-'));
  // apt downloads as its _apt user: the lists and cache must be reachable for it.
  fs.chmodSync(dir, 0o755);
  const repo = path.join(dir, 'repo');
  fs.mkdirSync(repo);
  for (const pkg of options.packages ?? []) buildPackage(repo, path.join(dir, 'build'), pkg);
  fs.writeFileSync(path.join(repo, 'Packages'), execFileSync('dpkg-scanpackages', ['--multiversion', '.', '/dev/null'], { cwd: repo, stdio: ['ignore', 'pipe', 'ignore'] }));

  const server = http.createServer((req, res) => {
    const file = path.join(repo, path.normalize(decodeURIComponent((req.url ?? '/').split('?')[0]!)));
    if (!file.startsWith(repo) || !fs.existsSync(file) || !fs.statSync(file).isFile()) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-length': fs.statSync(file).size });
    fs.createReadStream(file).pipe(res);
  });
  let running = false;
  let port = 0;
  const start = async (): Promise<void> => {
    if (running) return;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    port = (server.address() as AddressInfo).port;
    running = true;
  };
  const stop = async (): Promise<void> => {
    if (!running) return;
    running = false;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
  await start();

  const url = `http://127.0.0.1:${port}/`;
  const aptConfig = writeAptConfig(path.join(dir, 'apt'), url);
  return {
    url,
    aptConfig,
    get running() {
      return running;
    },
    start,
    stop,
    async close() {
      await stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
