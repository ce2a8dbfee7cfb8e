import { expect } from 'chai';
import type { PipelineResult } from '@smokestack/core';
import { foreignControls, runCliOnTerminal } from '@smokestack/testkit';
import { CliWorkspace } from './helpers.js';

describe('firestack logs', function () {
  this.timeout(120_000);
  let ws: CliWorkspace;
  let job: string;
  before(async () => {
    // A suite whose output tries to retitle and clear the terminal, hide and reorder text.
    const hostile = String.raw`printf 'Fix \033]0;pwned\007title \033[2J\033[8mhidden\033[0m \302\23331mred\rover \342\200\256esrever\n'`;
    ws = new CliWorkspace({ hostile: { group: { provider: 'local', hosts: [{ name: 'solo' }] }, suites: [{ name: 'hostile', command: hostile }] } });
    const run = await ws.firestack(['run', '--template', 'hostile', '--json']);
    job = run.json<{ job: { id: string }; result: PipelineResult }>().job.id;
  });
  after(() => ws.cleanup());

  it('prints no escape sequence or control character from a job\'s output, on a terminal, piped or followed', async () => {
    const terminal = await runCliOnTerminal('firestack', ['logs', job, '--stage', 'test'], { env: ws.env, cwd: ws.dir });
    expect(terminal.code).to.equal(0);
    expect(terminal.text).to.contain('Fix title');
    expect(foreignControls(terminal.raw)).to.deep.equal([]);
    for (const args of [['logs', job], ['logs', job, '--follow']]) {
      const piped = await ws.firestack(args);
      expect(piped.code, piped.stderr).to.equal(0);
      expect(piped.stdout).to.contain('hidden');
      expect(foreignControls(piped.stdout + piped.stderr), args.join(' ')).to.deep.equal([]);
    }
    // The data itself stays as it was for --json callers (JSON escapes it).
    const json = (await ws.firestack(['logs', job, '--stage', 'test', '--json'])).json<{ stages: Array<{ text: string }> }>();
    expect(json.stages[0]!.text).to.contain('\u001b]0;pwned');
  });
});
