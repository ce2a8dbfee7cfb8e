import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { expect } from 'chai';
import YAML from 'yaml';
import { GerritSim, freePort, runCli, type CliName, type CliResult } from '@smokestack/testkit';

/** Every file under `root`, gzip members opened up (job bundles are .tgz), as bytes. */
function filesUnder(root: string): Array<{ file: string; bytes: Buffer }> {
  if (!fs.existsSync(root)) return [];
  return fs.readdirSync(root, { recursive: true, withFileTypes: true }).flatMap((entry) => {
    if (!entry.isFile()) return [];
    const file = path.join(entry.parentPath, entry.name);
    const bytes = fs.readFileSync(file);
    const gzipped = bytes[0] === 0x1f && bytes[1] === 0x8b;
    return [{ file, bytes: gzipped ? Buffer.concat([bytes, zlib.gunzipSync(bytes)]) : bytes }];
  });
}

// One unique password through every path a user has (sync, fire, a worker whose suite prints its
// environment, comment, report, the read commands, error paths, --json), then a search of every file
// under the state directory and the report, of what was posted to Gerrit, and of everything printed.
describe('no secret in any file, review or output (end to end)', function () {
  this.timeout(10 * 60_000);
  const PASSWORD = `pw-${randomUUID()}`;
  const CLOUD_PASSWORD = `os-${randomUUID()}`;
  /** The password as it travels in an Authorization header. */
  const BASIC = Buffer.from(`smokestack:${PASSWORD}`).toString('base64');
  const leaks = (text: string | Buffer): string[] =>
    [PASSWORD, CLOUD_PASSWORD, BASIC].filter((secret) => text.includes(secret)).map((s) => (s === BASIC ? 'the Basic auth header' : s));

  let dir: string;
  let gerrit: GerritSim;
  let echo: http.Server;
  let env: Record<string, string>;
  const outputs: Array<{ command: string; text: string }> = [];

  const run = async (cli: CliName, args: string[], extra: Record<string, string | undefined> = {}): Promise<CliResult> => {
    const result = await runCli(cli, args, { env: { ...env, ...extra }, cwd: dir, timeoutMs: 5 * 60_000 });
    outputs.push({ command: `${cli} ${args[0]} (exit ${result.code})`, text: `${result.stdout}\n${result.stderr}` });
    return result;
  };
  const writeConfig = (name: string, gerritUrl: string, extra: Record<string, unknown> = {}): string => {
    const file = path.join(dir, name);
    const config = {
      gerrit: { url: gerritUrl, username: 'smokestack', retries: 0 },
      state: 'state/state.json',
      projects: [{ name: 'demo/app', templates: ['envdump'] }],
      templates: {
        envdump: {
          group: { provider: 'local', hosts: [{ name: 'solo' }] },
          // Code from a patch set, looking for credentials: the environment, and ~/.netrc of whatever HOME it got.
          suites: [{ name: 'env', command: 'env; cat "$HOME/.netrc" 2>&1; exit 1' }],
          maxInfraRetries: 0,
        },
      },
      report: { out: path.join(dir, 'report') },
      ...extra,
    };
    fs.writeFileSync(file, YAML.stringify(config));
    return file;
  };

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-secrets-'));
    gerrit = await GerritSim.start({ users: [{ username: 'smokestack', password: PASSWORD, name: 'SmokeStack CI', email: 'ci@example.org' }, { username: 'alice', password: 'alice-pw', name: 'Alice', email: 'alice@example.org' }] });
    gerrit.createProject('demo/app');
    gerrit.createChange({ project: 'demo/app', subject: 'Print the environment', owner: 'alice' });
    // A Gerrit (or a proxy in front of it) whose error page repeats the request's credentials.
    echo = http.createServer((req, res) => {
      const auth = req.headers.authorization ?? '';
      const login = Buffer.from(auth.replace(/^Basic /, ''), 'base64').toString('utf8');
      res.writeHead(400, { 'content-type': 'text/plain' }).end(`bad request for ${login} (${auth})\n`);
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    const home = path.join(dir, 'home');
    fs.mkdirSync(home);
    fs.writeFileSync(path.join(home, '.netrc'), `machine 127.0.0.1 login smokestack password ${PASSWORD}\n`, { mode: 0o600 });
    writeConfig('smokestack.yaml', gerrit.httpUrl);
    env = {
      HOME: home,
      SMOKESTACK_CONFIG: path.join(dir, 'smokestack.yaml'),
      XDG_CONFIG_HOME: path.join(dir, 'xdg', 'config'),
      XDG_CACHE_HOME: path.join(dir, 'xdg', 'cache'),
      XDG_STATE_HOME: path.join(dir, 'xdg', 'state'),
      GERRIT_HTTP_PASSWORD: PASSWORD,
      OS_PASSWORD: CLOUD_PASSWORD,
    };
  });

  after(async () => {
    await gerrit?.stop();
    await new Promise((resolve) => echo?.close(resolve));
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('sync, fire, the worker, comment, report and the read commands do their work', async () => {
    const sync = await run('bellows', ['sync', '--fire', '--json']);
    expect(sync.code, sync.stderr).to.equal(0);
    expect(sync.json<{ queued: unknown[] }>().queued).to.have.length(1);
    const worker = await run('firestack', ['worker', '--once', '--json']);
    expect(worker.code, worker.stderr).to.equal(0);
    const state = JSON.parse(fs.readFileSync(path.join(dir, 'state', 'state.json'), 'utf8')) as { jobs: Record<string, { status: string }> };
    expect(Object.values(state.jobs).map((j) => j.status)).to.deep.equal(['test_failed']);
    const testLog = fs.readFileSync(path.join(dir, 'state', 'jobs', 'j1', 'logs', 'test.log'), 'utf8');
    expect(testLog, 'the suite printed its environment').to.match(/\| PATH=/);
    const comment = await run('bellows', ['comment', '--json']);
    expect(comment.code, comment.stderr).to.equal(0);
    expect(gerrit.reviews().map((r) => r.labels.Verified)).to.deep.equal([-1]);
    const report = await run('reviewday', ['report', '--json']);
    expect(report.code, report.stderr).to.equal(0);
    for (const args of [['logs', 'j1'], ['logs', 'j1', '--json']]) expect((await run('firestack', args)).code).to.equal(0);
    for (const args of [['jobs', 'show', 'j1'], ['jobs', 'show', 'j1', '--json'], ['jobs', 'list'], ['jobs', 'list', '--json'], ['configs', 'list', '--json']]) {
      expect((await run('bellows', args)).code).to.equal(0);
    }
  });

  it('every error path fails in one line, and says nothing of the password', async () => {
    const echoing = writeConfig('echoing.yaml', `http://127.0.0.1:${(echo.address() as AddressInfo).port}`);
    const down = writeConfig('down.yaml', `http://127.0.0.1:${await freePort()}`);
    const netrcOnly = { SMOKESTACK_CONFIG: echoing, GERRIT_HTTP_PASSWORD: undefined };
    const failures: Array<[CliName, string[], Record<string, string | undefined>]> = [
      // Gerrit's error body repeats the password, given by the environment or found in ~/.netrc.
      ['bellows', ['sync'], { SMOKESTACK_CONFIG: echoing }],
      ['bellows', ['sync', '--json'], { SMOKESTACK_CONFIG: echoing }],
      ['bellows', ['sync', '--json'], netrcOnly],
      ['reviewday', ['report', '--full'], { SMOKESTACK_CONFIG: echoing }],
      ['reviewday', ['report', '--full', '--json'], netrcOnly],
      ['bellows', ['login', '--password-stdin'], { SMOKESTACK_CONFIG: echoing }],
      // Gerrit cannot be reached; Gerrit refuses the password; a usage mistake.
      ['bellows', ['sync', '--verbose'], { SMOKESTACK_CONFIG: down }],
      ['reviewday', ['report', '--full', '--json'], { SMOKESTACK_CONFIG: down }],
      ['bellows', ['sync'], { GERRIT_HTTP_PASSWORD: `${PASSWORD}-not` }],
      ['bellows', ['sync', `--bogus=${PASSWORD}`], {}],
    ];
    for (const [cli, args, extra] of failures) {
      const result = await run(cli, args, extra);
      const what = `${cli} ${args.join(' ')}`;
      expect(result.code, `${what}: ${result.stderr}`).to.equal(1);
      // With --json the failure is in the JSON: the error, or (sync) the projects that failed.
      if (args.includes('--json')) expect(JSON.stringify(result.json()), what).to.match(/"(error|errors)":/);
      else expect(result.stderr.trim().split('\n').pop(), what).to.match(new RegExp(`^${cli}: error: `));
    }
    expect(outputs.map((o) => o.text).join('\n'), 'the echoing Gerrit was heard').to.match(/bad request for smokestack:\*\*\*/);
  });

  it('no file under the state directory or the report, no review and no output holds the password', () => {
    const files = [...filesUnder(path.join(dir, 'state')), ...filesUnder(path.join(dir, 'report'))];
    expect(files.map((f) => path.relative(dir, f.file))).to.include.members(['state/state.json', 'state/jobs/j1/logs/test.log', 'report/index.html']);
    for (const { file, bytes } of files) expect(leaks(bytes), path.relative(dir, file)).to.deep.equal([]);
    for (const review of gerrit.reviews()) expect(leaks(review.message), 'a review posted to Gerrit').to.deep.equal([]);
    for (const { command, text } of outputs) expect(leaks(text), command).to.deep.equal([]);
  });
});
