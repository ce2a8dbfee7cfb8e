import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { expect } from 'chai';
import YAML from 'yaml';
import type { Job, PipelineResult, Reproduction } from '@smokestack/core';
import { cliBin, repoRoot, runCli, runCliOnTerminal } from '@smokestack/testkit';
import { CliWorkspace, JUNIT_SUITE } from './helpers.js';

/** One subunit v2 packet (test id, status, optional file attachment), per the spec. */
function subunit(id: string, status: number, file?: [string, string]): Buffer {
  const str = (t: string) => Buffer.concat([Buffer.from([Buffer.byteLength(t)]), Buffer.from(t)]);
  const body = Buffer.concat([str(id), ...(file ? [str(file[0]), Buffer.from([file[1].length]), Buffer.from(file[1])] : [])]);
  const head = Buffer.alloc(4);
  head[0] = 0xb3;
  head.writeUInt16BE(0x2000 | 0x0800 | 0x0100 | (file ? 0x0040 : 0) | status, 1);
  head[3] = 4 + body.length + 4;
  const packet = Buffer.concat([head, body]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(packet) >>> 0);
  return Buffer.concat([packet, crc]);
}

describe('firestack run, logs, reproduce', function () {
  this.timeout(120_000);
  let ws: CliWorkspace;
  before(() => {
    ws = new CliWorkspace({
      pkg: {
        group: { provider: 'local', hosts: [{ name: 'gw', gateway: true }, { name: 'web1', roles: ['web'] }] },
        builds: [{ name: 'demoapp', url: './demoapp', ref: 'master' }],
        suites: [{ ...JUNIT_SUITE, role: 'web' }],
      },
      minimal: { group: { provider: 'local', hosts: [{ name: 'solo' }] }, suites: [{ name: 'uname', command: 'uname -s' }] },
      failing: {
        group: { provider: 'local', hosts: [{ name: 'solo' }] },
        suites: [
          { name: 'chatty', command: 'echo first-line; sleep 0.5; echo second-line' },
          { name: 'broken', command: 'exit 3' },
        ],
      },
      laptop: {
        group: { provider: 'local', hosts: [{ name: 'solo' }] },
        // The build itself checks what was shipped: the edit and the new file, never the ignored file.
        builds: [{ name: 'demoapp', url: './demoapp', ref: 'master', method: 'command', command: 'grep -q EDITED-NOT-COMMITTED README.md && test -f new-file.txt && test ! -e ignored.log && dpkg-buildpackage -us -uc -b >/dev/null 2>&1' }],
      },
      tempest: {
        group: { provider: 'local', hosts: [{ name: 'solo' }] },
        suites: [{ name: 'tempest', command: 'cp "$STREAM" "$SMOKESTACK_RESULTS_DIR/tempest.subunit"', format: 'subunit' }],
      },
    });
  });
  after(() => ws.cleanup());

  it('runs a template from a laptop, records it as a job, and reports --json', async () => {
    const run = await ws.firestack(['run', '--template', 'pkg', '--change', 'demoapp=refs/heads/master', '--json']);
    expect(run.code, run.stderr).to.equal(0);
    const { job, result } = run.json<{ job: Job; result: PipelineResult }>();
    expect(job).to.include({ status: 'success', template: 'pkg', reason: 'manual', revision: ws.head });
    expect(job.changes).to.deep.equal(['demoapp=refs/heads/master']);
    expect(result.summary).to.include({ tests: 2, skipped: 1, failures: 0 });
    expect(result.skipped).to.deep.equal([{ id: 'cli.test_later', reason: 'not yet' }]);
    expect(result.stages.find((s) => s.stage === 'configure')).to.include({ status: 'skipped' });
    expect(fs.readdirSync(path.join(result.logDir, 'packages', 'gw')).some((f) => /^demoapp_1\.0\+ss\d+\.g[0-9a-f]+_all\.deb$/.test(f))).to.equal(true);

    const logs = await ws.firestack(['logs', job.id, '--stage', 'test']);
    expect(logs.code).to.equal(0);
    expect(logs.stdout).to.contain('web1 | suite-ran-on-web1');

    const follow = await ws.firestack(['logs', job.id, '--follow']);
    expect(follow.stdout).to.match(/\[build\] .* gw \| == build 0: demoapp at refs\/heads\/master/);

    const repro = await ws.firestack(['reproduce', job.id, '--json']);
    expect(repro.json<Reproduction>().command).to.equal(`firestack run --config ${ws.env.SMOKESTACK_CONFIG} --template pkg --change demoapp=${ws.head}`);
  });

  it('runs the smallest template (a group and one suite) and prints a human summary', async () => {
    const run = await ws.firestack(['run', '--template', 'minimal']);
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.match(/^Job j\d+ \(minimal\): success — passed/);
    expect(run.stdout).to.match(/Time: [\d.]+s total, [\d.]+s in remote commands, [\d.]+s pipeline overhead/);
    const id = /^Job (j\d+)/.exec(run.stdout)![1]!;
    const again = await ws.firestack(['reproduce', id, '--run', '--json']);
    expect(again.code, again.stderr).to.equal(0);
    const out = again.json<Reproduction & { run: { job: Job } }>();
    expect(out.command).to.equal(`firestack run --config ${ws.env.SMOKESTACK_CONFIG} --template minimal`);
    expect(out.run.job).to.include({ template: 'minimal', status: 'success' });
    expect(out.run.job.id).not.to.equal(id);
  });

  it('reproduce prints a command that works where it is pasted: another directory, another shell, no SMOKESTACK_CONFIG', async () => {
    const run = await ws.firestack(['run', '--template', 'minimal', '--json']);
    const { job } = run.json<{ job: Job }>();
    const printed = (await ws.firestack(['reproduce', job.id])).stdout.trim();
    const bin = path.join(ws.dir, 'path-bin');
    fs.mkdirSync(bin, { recursive: true });
    fs.symlinkSync(cliBin('firestack'), path.join(bin, 'firestack'));
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-paste-'));
    try {
      const env = { PATH: `${bin}:${process.env.PATH ?? ''}`, HOME: elsewhere, XDG_CONFIG_HOME: path.join(elsewhere, 'xdg'), NO_COLOR: '1' };
      const pasted = spawnSync('sh', ['-c', printed], { cwd: elsewhere, env, encoding: 'utf8' });
      expect(pasted.status, `${printed}\n${pasted.stderr}`).to.equal(0);
      expect(pasted.stdout).to.match(/^Job j\d+ \(minimal\): success/);
    } finally {
      fs.rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('tests a --change checkout as it is: uncommitted edits and new files go in, ignored files do not, and the first lines say so', async () => {
    const laptop = path.join(ws.dir, 'laptop');
    execFileSync('git', ['clone', '-q', ws.repo, laptop]);
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: laptop, encoding: 'utf8' }).trim();
    fs.appendFileSync(path.join(laptop, 'README.md'), 'EDITED-NOT-COMMITTED\n');
    fs.writeFileSync(path.join(laptop, 'new-file.txt'), 'new\n');
    fs.appendFileSync(path.join(laptop, '.git', 'info', 'exclude'), '*.log\n');
    fs.writeFileSync(path.join(laptop, 'ignored.log'), 'not shipped\n');
    const run = await ws.firestack(['run', '--template', 'laptop', '--change', `demoapp=${laptop}`]);
    expect(run.code, run.stdout + run.stderr).to.equal(0);
    const first = run.stderr.split('\n')[0]!.replace(/^\S+Z /, '');
    expect(first).to.equal(`demoapp: ${laptop} at ${head.slice(0, 12)} with 2 uncommitted file(s): README.md (modified), new-file.txt (added)`);
    const id = /^Job (j\d+)/.exec(run.stdout)![1]!;
    const shown = await runCli('bellows', ['jobs', 'show', id, '--json'], { env: ws.env, cwd: ws.dir });
    const source = shown.json<{ job: Job }>().job.sources![0]!;
    expect(source).to.include({ localPath: laptop, localHead: head });
    expect(source.revision).to.not.equal(head);
    expect(source.uncommitted).to.deep.equal(['README.md (modified)', 'new-file.txt (added)']);
    // The user's checkout is as it was: nothing staged, no commit, no new ref.
    expect(execFileSync('git', ['status', '--porcelain'], { cwd: laptop, encoding: 'utf8' })).to.equal(' M README.md\n?? new-file.txt\n');
    expect(execFileSync('git', ['rev-parse', 'HEAD'], { cwd: laptop, encoding: 'utf8' }).trim()).to.equal(head);
    expect(execFileSync('git', ['for-each-ref', '--format=%(refname)'], { cwd: laptop, encoding: 'utf8' }).trim().split('\n')).to.have.members([
      'refs/heads/master',
      'refs/remotes/origin/HEAD',
      'refs/remotes/origin/master',
    ]);
  });

  it('in a SmokeStack checkout with no config, says which config holds the examples', async () => {
    const r = await runCli('firestack', ['run', '--template', 'demo'], { cwd: repoRoot(), env: { SMOKESTACK_CONFIG: undefined, XDG_CONFIG_HOME: path.join(ws.dir, 'no-xdg') } });
    expect(r.code).to.equal(1);
    expect(r.stderr.trim()).to.equal(
      `firestack: error: no smokestack.yaml found, so no template "demo" (looked at --config, SMOKESTACK_CONFIG, ./smokestack.yaml, ${path.join(ws.dir, 'no-xdg', 'smokestack', 'smokestack.yaml')}) ` +
        '(the examples are configured in examples/smokestack.yaml: firestack run --config examples/smokestack.yaml --template demo)',
    );
  });

  it('keeps ad-hoc runs apart from the queue: jobs list leaves them out, jobs retry says what to run instead', async () => {
    const run = await ws.firestack(['run', '--template', 'minimal', '--json']);
    const { job } = run.json<{ job: Job }>();
    expect(job.kind).to.equal('adhoc');
    const bellows = (args: string[]) => runCli('bellows', args, { env: ws.env, cwd: ws.dir });
    const listed = await bellows(['jobs', 'list']);
    expect(listed.code, listed.stderr).to.equal(0);
    expect(listed.stdout).not.to.match(new RegExp(`\\b${job.id}\\b`));
    expect(listed.stdout).to.match(/ad-hoc run\(s\) of firestack run not listed; see them with --kind adhoc/);
    const adhoc = await bellows(['jobs', 'list', '--kind', 'adhoc']);
    expect(adhoc.stdout).to.match(new RegExp(`^.*\\b${job.id}\\b.*\\bad hoc\\b.*\\bminimal\\b.*\\bsuccess\\b`, 'm'));
    const retry = await bellows(['jobs', 'retry', job.id]);
    expect(retry.code).to.equal(1);
    expect(retry.stderr.trim()).to.equal(
      `bellows: error: job ${job.id}: an ad-hoc run (firestack run), not a queue job, so there is nothing to queue again (run it again with: firestack reproduce ${job.id} --run)`,
    );
  });

  it('on a terminal, shows the stages as a live list that ends with each outcome', async () => {
    const run = await runCliOnTerminal('firestack', ['run', '--template', 'failing'], { env: ws.env, cwd: ws.dir, timeoutMs: 60_000 });
    expect(run.code, run.text).to.equal(1);
    const id = /Job (j\d+) \(failing\)/.exec(run.text)?.[1];
    const board = run.text.slice(run.text.lastIndexOf('provision ('), run.text.indexOf('Job j'));
    expect(board.trim().split('\n').map((l) => l.replace(/\(\d+\.\d+s\)/, '(Ns)').trim())).to.deep.equal([
      `provision (Ns) — created server group failing-${id} (local, 1 host(s))`,
      '✔ prepare (Ns) — job bundle on 1 host(s)',
      '↓ build (Ns) — the template has no builds',
      '↓ repo (Ns) — no packages to publish',
      '↓ configure (Ns) — the template has no puppet section',
      '✖ test (Ns) — suite broken on solo exited 3',
      `✔ harvest (Ns) — results and logs of 1 host(s) in ${path.join(ws.dir, 'state', 'jobs', id!)}`,
      `✔ teardown (Ns) — deleted server group failing-${id}`,
    ]);
    // While the suites ran, their output was the line under the running stage.
    expect(run.text).to.match(/solo: first-line/);
    // The plain, timestamped stage lines are for logs without a terminal.
    expect(run.text).not.to.match(/\d{4}-\d\d-\d\dT[\d:.]+Z test: started/);
    expect(run.text).to.match(/Job j\d+ \(failing\): test_failed — 1 failing test\(s\): broken/);

    // A run refused before it starts shows no board, only the one-line error.
    const refused = await runCliOnTerminal('firestack', ['run', '--template', 'nope'], { env: ws.env, cwd: ws.dir });
    expect(refused.code).to.equal(1);
    expect(refused.text.trim()).to.match(/^firestack: error: smokestack\.yaml: templates\.nope: no such template \(known templates: [a-z, ]+\)$/);
  });

  it('parses a suite\'s subunit v2 stream into the job summary, skip reasons included', async () => {
    const stream = path.join(ws.dir, 'tempest.subunit');
    fs.writeFileSync(stream, Buffer.concat([subunit('tempest.api.test_list', 3), subunit('tempest.api.test_boot', 6), subunit('tempest.scenario.test_volume', 5, ['reason', 'no cinder'])]));
    // A job sees none of the caller's environment: the template hands the suite what it needs.
    const config = YAML.parse(fs.readFileSync(ws.env.SMOKESTACK_CONFIG!, 'utf8'));
    config.templates.tempest.env = { STREAM: stream };
    fs.writeFileSync(ws.env.SMOKESTACK_CONFIG!, YAML.stringify(config));
    const run = await ws.firestack(['run', '--template', 'tempest', '--json'], 60_000);
    const { job, result } = run.json<{ job: Job; result: PipelineResult }>();
    expect(job.status).to.equal('test_failed');
    expect(result.summary).to.include({ tests: 3, failures: 1, skipped: 1 });
    expect(result.failedTests).to.deep.equal(['tempest.api.test_boot']);
    expect(result.skipped).to.deep.equal([{ id: 'tempest.scenario.test_volume', reason: 'no cinder' }]);
  });

  it('reports bad input in one line: an unknown template, a --change for a project the template does not use', async () => {
    const unknown = await ws.firestack(['run', '--template', 'nope']);
    expect(unknown.code).to.equal(1);
    expect(unknown.stderr.trim()).to.equal('firestack: error: smokestack.yaml: templates.nope: no such template (known templates: pkg, minimal, failing, laptop, tempest)');
    const change = await ws.firestack(['run', '--template', 'pkg', '--change', 'nova=refs/changes/1/1/1']);
    expect(change.code).to.equal(1);
    expect(change.stderr.trim()).to.equal('firestack: error: --change "nova": template pkg builds or fetches no project of that name (projects: demoapp)');
    const logs = await ws.firestack(['logs', 'j999']);
    expect(logs.stderr).to.contain('job j999: not found');
  });
});
