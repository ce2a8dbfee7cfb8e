import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'chai';
import { StateStore, enqueueJob } from '@smokestack/core';
import { cliBin, repoRoot, runCli, type CliName, type CliResult } from '@smokestack/testkit';

const recorder = pathToFileURL(path.join(import.meta.dirname, '..', 'fixtures', 'record-modules.mjs')).href;
const lister = path.join(repoRoot(), 'packages', 'testkit', 'test', 'fixtures', 'list-commands.mjs');

/**
 * The modules a process loaded, with each file of a CLI's bundle (scripts/bundle-clis.mjs) replaced by the
 * modules bundled into it, as the build's dist/bundle/meta.json lists them.
 */
function unbundled(loadedFiles: string[]): { modules: string[]; bundled: string[]; raw: string[] } {
  const metas = new Map<string, Record<string, string[]>>();
  const modules: string[] = [];
  const bundled: string[] = [];
  for (const file of loadedFiles) {
    const match = /\/packages\/(bellows|firestack|reviewday)\/dist\/bundle\/(.+)$/.exec(file);
    if (!match) {
      modules.push(file);
      continue;
    }
    bundled.push(file);
    const [, cli, name] = match;
    if (!metas.has(cli!)) metas.set(cli!, JSON.parse(fs.readFileSync(path.join(repoRoot(), 'packages', cli!, 'dist', 'bundle', 'meta.json'), 'utf8')));
    const inputs = metas.get(cli!)![name!];
    if (!inputs) throw new Error(`${file}: not in ${cli}'s dist/bundle/meta.json`);
    modules.push(...inputs.map((input) => pathToFileURL(path.join(repoRoot(), input)).href));
  }
  return { modules, bundled, raw: loadedFiles };
}

/** Runs a CLI and returns what it printed, every module it loaded (bundled or not) and the bundle files it read. */
async function runRecording(dir: string, cli: CliName, args: string[], options: { env: Record<string, string>; cwd?: string }): Promise<{ result: CliResult; modules: string[]; bundled: string[]; raw: string[] }> {
  const out = path.join(dir, `modules-${Math.random().toString(36).slice(2)}.txt`);
  const result = await runCli(cli, args, { ...options, env: { ...options.env, NODE_OPTIONS: `--import=${recorder}`, RECORD_MODULES: out } });
  return { result, ...unbundled(fs.readFileSync(out, 'utf8').split('\n').filter(Boolean)) };
}

/** What commands that only read the store must never load: remote hosts, clouds, pipelines, Gerrit. */
const HEAVY = [/node_modules\/ssh2\//, /node_modules\/axios\//, /node_modules\/handlebars\//, /node_modules\/execa\//, /node_modules\/listr2\//, /\/core\/(dist|src)\/(providers|pipeline|gerrit|ssh|review|launchpad)\//];

function loaded(modules: string[], pattern: RegExp): string[] {
  return modules.filter((m) => pattern.test(m));
}

describe('what a command loads', () => {
  let dir: string;
  let env: Record<string, string>;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-startup-'));
    env = { SMOKESTACK_STATE: path.join(dir, 'state.json'), XDG_CONFIG_HOME: path.join(dir, 'xdg'), HOME: dir };
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('jobs list --json without a config loads the store and the job filters, not hosts, clouds, pipelines, the YAML parser or the validator', async () => {
    const { result, modules, bundled, raw } = await runRecording(dir, 'bellows', ['jobs', 'list', '--json'], { env, cwd: dir });
    expect(result.code, result.stderr).to.equal(0);
    expect(result.json()).to.deep.equal({ jobs: [] });
    // The command and the core library come from the CLI's bundle: a handful of files, not one per module.
    expect(loaded(modules, /\/packages\/bellows\/dist\/commands\/jobs\/list\.js$/)).to.have.length(1);
    expect(loaded(bundled, /\/packages\/bellows\/dist\/bundle\/commands\/jobs\/list\.js$/)).to.have.length(1);
    expect(loaded(raw, /\/packages\/core\/dist\/(?!oclif\.js$|vendor\/)/)).to.deep.equal([]);
    expect(loaded(modules, /\/packages\/core\/dist\//)).to.have.length.above(10);
    expect(bundled).to.have.length.below(10);
    expect(loaded(modules, /\/core\/(dist|src)\/queue\/jobs\.(js|ts)$/), 'the recorder saw the job filters').to.have.length(1);
    for (const heavy of [...HEAVY, /node_modules\/zod\//, /node_modules\/yaml\//, /\/vendor\/(zod|yaml)\.cjs$/, /node_modules\/cli-table3\//, /node_modules\/pg\//, /node_modules\/@oclif\/core\/lib\//]) {
      expect(loaded(modules, heavy), String(heavy)).to.deep.equal([]);
    }
  });

  it('jobs list with a config file loads the YAML parser and the validator, and still refuses a bad config in one line', async () => {
    const cwd = fs.mkdtempSync(path.join(dir, 'cfg-'));
    fs.writeFileSync(path.join(cwd, 'smokestack.yaml'), 'projects:\n  - name: a\n    branch: 3\n');
    const bad = await runRecording(dir, 'bellows', ['jobs', 'list'], { env, cwd });
    expect(bad.result.code).to.equal(1);
    expect(bad.result.stderr.trim()).to.equal('bellows: error: smokestack.yaml: projects[0].branch: expected a string');
    // Each from its one bundled file (scripts/bundle-vendor.mjs), not from its own modules.
    expect(loaded(bad.modules, /\/packages\/core\/dist\/vendor\/zod\.cjs$/)).to.have.length(1);
    expect(loaded(bad.modules, /\/packages\/core\/dist\/vendor\/yaml\.cjs$/)).to.have.length(1);
    expect(loaded(bad.modules, /node_modules\/(zod|yaml)\//)).to.deep.equal([]);
    for (const heavy of HEAVY) expect(loaded(bad.modules, heavy), String(heavy)).to.deep.equal([]);
  });

  it('with a config file this build validated before, as it is now, loads neither the YAML parser nor the validator; a changed one is validated again', async () => {
    const cwd = fs.mkdtempSync(path.join(dir, 'cached-'));
    const file = path.join(cwd, 'smokestack.yaml');
    const validator = /\/vendor\/(zod|yaml)\.cjs$/;
    // The config names the store: what the cached config says is what the command reads.
    const stateFile = path.join(cwd, 'state.json');
    await new StateStore(stateFile).update((state) => void enqueueJob(state, { configId: 'c1', project: 'openstack/nova', number: 7, patchSet: 1, revision: 'abc', template: 't' }, new Date()));
    const own = { ...env, SMOKESTACK_STATE: '' };
    fs.writeFileSync(file, `state: ${stateFile}\nprojects:\n  - name: openstack/nova\n`);
    const first = await runRecording(dir, 'bellows', ['jobs', 'list', '--json'], { env: own, cwd });
    expect(first.result.code, first.result.stderr).to.equal(0);
    expect(loaded(first.modules, validator)).to.have.length(2);
    const again = await runRecording(dir, 'bellows', ['jobs', 'list', '--json'], { env: own, cwd });
    expect(again.result.code, again.result.stderr).to.equal(0);
    expect(again.result.json<{ jobs: Array<{ number: number }> }>().jobs.map((j) => j.number)).to.deep.equal([7]);
    expect(loaded(again.modules, validator)).to.deep.equal([]);
    // Edited: validated again, and a mistake is still found.
    fs.writeFileSync(file, `state: ${stateFile}\nprojects:\n  - name: openstack/nova\n    branch: 3\n`);
    const bad = await runRecording(dir, 'bellows', ['jobs', 'list'], { env: own, cwd });
    expect(bad.result.code).to.equal(1);
    expect(bad.result.stderr.trim()).to.equal('bellows: error: smokestack.yaml: projects[0].branch: expected a string');
    expect(loaded(bad.modules, validator)).to.have.length(2);
  });

  it('a config read from a pipe is validated every time, never taken for an empty one', () => {
    for (let run = 0; run < 2; run++) {
      // A shell's pipe, as `-c <(…)` or `… | bellows -c /dev/stdin` gives one.
      const piped = spawnSync('sh', ['-c', 'printf "projects: 3\\n" | "$0" "$1" jobs list --json -c /dev/stdin', process.execPath, cliBin('bellows')], {
        env: { ...process.env, ...env, NO_COLOR: '1' },
        cwd: dir,
        encoding: 'utf8',
      });
      expect(piped.status, piped.stdout + piped.stderr).to.equal(1);
      expect(JSON.parse(piped.stdout).error.message).to.equal('stdin: projects: expected a list');
    }
  });

  it('reviewday report with a config validated before loads neither the YAML parser nor the validator (the projects file does)', async () => {
    const cwd = fs.mkdtempSync(path.join(dir, 'report-'));
    fs.writeFileSync(path.join(cwd, 'smokestack.yaml'), 'gerrit:\n  url: http://127.0.0.1:9\nprojects:\n  - name: openstack/nova\n');
    const validator = /\/vendor\/(zod|yaml)\.cjs$/;
    const offline = ['report', '--offline', '-o', path.join(cwd, 'out')];
    await runRecording(dir, 'reviewday', offline, { env, cwd });
    const again = await runRecording(dir, 'reviewday', offline, { env, cwd });
    // No snapshot yet: the one-line error comes after the report's modules are loaded.
    expect(again.result.code).to.equal(1);
    expect(again.result.stderr).to.contain('--offline: no saved snapshot of the open changes');
    expect(loaded(again.modules, /\/core\/(dist|src)\/review\/service\.(js|ts)$/), 'the report module').to.have.length(1);
    expect(loaded(again.modules, validator)).to.deep.equal([]);
    fs.writeFileSync(path.join(cwd, 'projects.yaml'), 'projects:\n  - name: openstack/nova\n    launchpad_project: nova\n');
    const withFile = await runRecording(dir, 'reviewday', [...offline, '--project-file', path.join(cwd, 'projects.yaml')], { env, cwd });
    expect(withFile.result.stderr).to.contain('--offline: no saved snapshot');
    expect(loaded(withFile.modules, validator)).to.have.length(2);
  });

  it('a command that talks HTTP loads axios as one bundled file, not from its package', async () => {
    const cwd = fs.mkdtempSync(path.join(dir, 'http-'));
    // A Gerrit that refuses every request: the report's first request fails at once, after axios is loaded.
    const gerrit = http.createServer((_req, res) => res.writeHead(403).end('forbidden'));
    await new Promise<void>((resolve) => gerrit.listen(0, '127.0.0.1', resolve));
    const { port } = gerrit.address() as { port: number };
    fs.writeFileSync(path.join(cwd, 'smokestack.yaml'), `gerrit:\n  url: http://127.0.0.1:${port}\nprojects:\n  - name: openstack/nova\n`);
    const { result, modules } = await runRecording(dir, 'reviewday', ['report', '-o', path.join(cwd, 'out')], { env, cwd }).finally(() => gerrit.close());
    expect(result.code).to.equal(1);
    expect(result.stderr).to.match(/403/);
    expect(loaded(modules, /\/packages\/core\/dist\/vendor\/axios\.cjs$/)).to.have.length(1);
    expect(loaded(modules, /node_modules\/(axios|form-data|follow-redirects)\//)).to.deep.equal([]);
  });

  it('a mistyped command is one line, its hook loading only its own small module beside the bundle', async () => {
    const { result, raw } = await runRecording(dir, 'bellows', ['jbos', 'lsit'], { env, cwd: dir });
    expect(result.code).to.equal(1);
    expect(result.stderr).to.contain('bellows: error: no command "jbos lsit"');
    // The hook is oclif's to load from package.json; it must not bring a second copy of the core library.
    expect(loaded(raw, /\/packages\/core\/dist\/(?!oclif\.js$|vendor\/)/).map((m) => m.replace(/.*\/packages\/core\/dist\//, ''))).to.deep.equal(['cli/mistakes.js']);
  });

  it("oclif's debug log, put off until DEBUG is set, still prints with it", async () => {
    const quiet = await runCli('bellows', ['jobs', 'list', '--json'], { env, cwd: dir });
    expect(quiet.code, quiet.stderr).to.equal(0);
    expect(quiet.stderr).to.equal('');
    const debug = await runCli('bellows', ['jobs', 'list', '--json'], { env: { ...env, DEBUG: 'oclif:*' }, cwd: dir });
    expect(debug.code, debug.stderr).to.equal(0);
    expect(debug.json()).to.deep.equal({ jobs: [] });
    expect(debug.stderr).to.match(/oclif:main process\.argv/);
    expect(debug.stderr).to.match(/oclif:config/);
  });

  it('the command list in --help is in alphabetical order', async () => {
    const result = await runCli('bellows', ['--help'], { env, cwd: dir });
    expect(result.code, result.stderr).to.equal(0);
    const commands = result.stdout.split('COMMANDS\n')[1]!.split('\n').filter((line) => /^ {2}\S/.test(line)).map((line) => line.trim().split(/\s+/)[0]!);
    expect(commands).to.include.members(['comment', 'sync']);
    expect(commands).to.deep.equal([...commands].sort());
  });

  it('a config named with --config that does not exist is still an error, though nothing else reads it', async () => {
    const result = await runCli('bellows', ['jobs', 'list', '--config', path.join(dir, 'nope.yaml')], { env, cwd: dir });
    expect(result.code).to.equal(1);
    expect(result.stderr.trim()).to.equal(`bellows: error: ${path.join(dir, 'nope.yaml')}: config file not found (check --config or SMOKESTACK_CONFIG)`);
  });

  for (const cli of ['bellows', 'firestack', 'reviewday'] as const) {
    it(`${cli} --help loads no command and of the core library only the entry point`, async () => {
      const { result, modules } = await runRecording(dir, cli, ['--help'], { env, cwd: dir });
      expect(result.code, result.stderr).to.equal(0);
      expect(result.stdout).to.contain('USAGE');
      // The entry point (cli/execute: how errors outside any command are printed), the two small modules it
      // needs, and oclif as one bundled file with the loader that compiles it from the build's saved code.
      const entry = /\/packages\/core\/(dist|src)\/(cli\/execute|errors|log\/terminal|oclif|vendor\/code-cache)\.(js|ts)$|\/packages\/core\/dist\/vendor\/oclif\.cjs$/;
      expect(loaded(modules, /\/packages\/(core|bellows|firestack|reviewday)\/(dist|src)\//).filter((m) => !entry.test(m))).to.deep.equal([]);
      // oclif comes from the one bundled file (scripts/bundle-vendor.mjs), not from its ~100 modules.
      expect(loaded(modules, /\/packages\/core\/dist\/vendor\/oclif\.cjs$/)).to.have.length(1);
      expect(loaded(modules, /node_modules\/@oclif\/core\/lib\//)).to.deep.equal([]);
    });
  }

  for (const cli of ['bellows', 'firestack', 'reviewday'] as const) {
    it(`every ${cli} command loads the core modules it calls, never the whole library`, () => {
      const out = path.join(dir, `commands-${cli}.txt`);
      execFileSync(process.execPath, ['--no-warnings', lister, path.join(repoRoot(), 'packages', cli)], {
        env: { ...process.env, NODE_OPTIONS: `--import=${recorder}`, RECORD_MODULES: out },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      const { modules, bundled } = unbundled(fs.readFileSync(out, 'utf8').split('\n').filter(Boolean));
      expect(loaded(bundled, new RegExp(`/packages/${cli}/dist/bundle/commands/`)), 'the commands come from the bundle').to.not.be.empty;
      expect(loaded(modules, new RegExp(`/packages/${cli}/dist/commands/`)), 'the recorder saw the commands').to.not.be.empty;
      expect(loaded(modules, /\/packages\/core\/dist\/index\.js$/)).to.deep.equal([]);
    });
  }
});
