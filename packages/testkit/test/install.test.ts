import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import YAML from 'yaml';
import { repoRoot } from '@smokestack/testkit';

/** npm that never goes to the network: whatever these tests install must already be on this machine. */
const OFFLINE = { npm_config_offline: 'true', npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
/** Nor a registry to reach (a closed local port) nor an npm cache to fall back on. */
const NO_REGISTRY = (dir: string) => ({ npm_config_registry: 'http://127.0.0.1:9/', npm_config_cache: path.join(dir, 'empty-npm-cache') });

function sh(command: string, args: string[], options: { cwd: string; env?: Record<string, string> }): SpawnSyncReturns<string> {
  return spawnSync(command, args, {
    cwd: options.cwd,
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '', NO_COLOR: '1', ...OFFLINE, ...options.env },
    maxBuffer: 64 * 1024 * 1024,
  });
}

/** The checkout as `git clone` would give it: tracked and new files, nothing ignored (no node_modules, no dist). */
function cloneWorkingTree(target: string): void {
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: repoRoot(), encoding: 'utf8' }).split('\0').filter(Boolean);
  for (const file of files) {
    const from = path.join(repoRoot(), file);
    if (!fs.existsSync(from)) continue; // deleted in the working tree
    fs.mkdirSync(path.dirname(path.join(target, file)), { recursive: true });
    fs.cpSync(from, path.join(target, file), { verbatimSymlinks: true });
  }
}

/** Every SmokeStack command line in examples/systemd and examples/cron: the program and its command words. */
function exampleCommands(): Array<{ line: string; bin: string; words: string[] }> {
  const examples = path.join(repoRoot(), 'examples');
  const out: Array<{ line: string; bin: string; words: string[] }> = [];
  const cron = fs.readFileSync(path.join(examples, 'cron', 'smokestack.cron'), 'utf8');
  const cronPath = /^PATH=(.*)$/m.exec(cron)?.[1]?.split(':') ?? ['/usr/bin', '/bin'];
  for (const line of cron.split('\n').filter((l) => /^[\d*]/.test(l))) {
    const [, cli, rest] = /\b(bellows|firestack|reviewday) ([^>]*)/.exec(line) ?? [];
    const dir = cronPath.find((d) => d === '/usr/local/bin');
    out.push({ line, bin: dir && cli ? path.join(dir, cli) : `(not on cron's PATH: ${cli})`, words: (rest ?? '').split(' ').filter((w) => /^[a-z]+$/.test(w)) });
  }
  for (const unit of fs.readdirSync(path.join(examples, 'systemd')).filter((f) => f.endsWith('.service'))) {
    const line = /^ExecStart=(.*)$/m.exec(fs.readFileSync(path.join(examples, 'systemd', unit), 'utf8'))![1]!;
    const [bin, ...args] = line.split(' ');
    out.push({ line, bin: bin!, words: args.filter((w) => /^[a-z]+$/.test(w)) });
  }
  return out;
}

const COMMANDS = { bellows: 'sync', firestack: 'run', reviewday: 'report' } as const;

describe('installing SmokeStack', function () {
  // npm ci and a build of every package on a loaded 2-core machine: minutes, not seconds.
  this.timeout(20 * 60_000);
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-install-test-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('after npm ci in a fresh checkout, npx runs all three commands, and a mistyped flag is one line', () => {
    const clone = path.join(dir, 'clone');
    cloneWorkingTree(clone);
    // From the npm cache the repository's own `npm ci` filled (the lockfile names no tarball URLs).
    const ci = sh('npm', ['ci'], { cwd: clone });
    expect(ci.status, ci.stderr).to.equal(0);
    for (const [cli, command] of Object.entries(COMMANDS)) {
      const help = sh('npx', ['--no-install', cli, '--help'], { cwd: clone });
      expect(help.status, help.stderr).to.equal(0);
      expect(help.stdout, `${cli} --help`).to.match(new RegExp(`^\\s+${command}\\s`, 'm'));
    }
    const typo = sh('npx', ['--no-install', 'bellows', 'sync', '--bogus'], { cwd: clone });
    expect(typo.stderr.trim()).to.equal('bellows: error: sync: unknown flag --bogus (see: bellows sync --help)');
    expect(typo.status).to.equal(1);
  });

  it('npm run install-cli -- --prefix DIR puts the three commands in DIR/bin, with no registry and an empty npm cache', () => {
    const prefix = path.join(dir, 'prefix');
    const install = sh('npm', ['run', 'install-cli', '--silent', '--', '--prefix', prefix], { cwd: repoRoot(), env: NO_REGISTRY(dir) });
    expect(install.status, install.stderr).to.equal(0);
    expect(install.stdout).to.contain(`installed bellows, firestack, reviewday in ${path.join(prefix, 'bin')}`);

    const elsewhere = path.join(dir, 'elsewhere');
    fs.mkdirSync(elsewhere);
    const env = { PATH: `${path.join(prefix, 'bin')}:${process.env.PATH ?? ''}`, HOME: elsewhere, XDG_CONFIG_HOME: path.join(elsewhere, 'xdg') };
    for (const [cli, command] of Object.entries(COMMANDS)) {
      const help = sh(cli, ['--help'], { cwd: elsewhere, env });
      expect(help.status, `${cli}: ${help.stderr}`).to.equal(0);
      expect(help.stdout, `${cli} --help`).to.match(new RegExp(`^\\s+${command}\\s`, 'm'));
    }
    const typo = sh('firestack', ['run', '--templat', 'x'], { cwd: elsewhere, env });
    expect(typo.stderr.trim()).to.equal('firestack: error: run: unknown flag --templat (see: firestack run --help)');
    expect(typo.status).to.equal(1);

    // The systemd units and the cron file run commands that the install provides, where it puts them by default.
    for (const { line, bin, words } of exampleCommands()) {
      expect(bin, line).to.match(/^\/usr\/local\/bin\/(bellows|firestack|reviewday)$/);
      const help = sh(path.join(prefix, 'bin', path.basename(bin)), [...words, '--help'], { cwd: elsewhere, env });
      expect(help.status, `${line}: ${help.stderr}`).to.equal(0);
    }

    // A whole pipeline from the installed copy: its stage scripts come from the templates it carries.
    fs.writeFileSync(
      path.join(elsewhere, 'smokestack.yaml'),
      YAML.stringify({ state: 'state/state.json', templates: { hello: { group: { provider: 'local', hosts: [{ name: 'solo' }] }, suites: [{ name: 'hello', command: 'echo hello-from-the-install' }] } } }),
    );
    const run = sh('firestack', ['run', '--template', 'hello'], { cwd: elsewhere, env });
    expect(run.status, run.stderr).to.equal(0);
    expect(run.stdout).to.match(/^Job j1 \(hello\): success/);
  });
});
