import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { CliWorkspace } from './helpers.js';

describe('firestack outbox', function () {
  this.timeout(120_000);
  let ws: CliWorkspace;
  beforeEach(() => {
    ws = new CliWorkspace({});
    // What a worker leaves when the log host would not take a job's logs.
    const outbox = path.join(ws.dir, 'state', 'outbox');
    fs.mkdirSync(outbox, { recursive: true });
    const entry = { job: 'j7', startedAt: '2026-01-01T10:00:00.000Z', worker: 'w1', queuedAt: '2026-01-01T10:05:00.000Z', attempts: 3, nextAt: '2026-01-01T10:06:00.000Z', lastError: 'root@192.0.2.1:22: connection refused' };
    fs.writeFileSync(path.join(outbox, 'j7.json'), JSON.stringify(entry));
  });
  afterEach(() => ws.cleanup());

  it('lists the jobs whose logs wait for the log host, with their tries and last error', async () => {
    const text = await ws.firestack(['outbox']);
    expect(text.code, text.stderr).to.equal(0);
    expect(text.stdout).to.contain('j7: waiting since 2026-01-01T10:05:00.000Z, 3 tries, last: root@192.0.2.1:22: connection refused');
    const json = (await ws.firestack(['outbox', '--json'])).json<{ waiting: Array<{ job: string; attempts: number }> }>();
    expect(json.waiting.map((e) => [e.job, e.attempts])).to.deep.equal([['j7', 3]]);
  });

  it('--deliver without a logHost in the config is refused in one line, and the outbox is left as it was', async () => {
    const result = await ws.firestack(['outbox', '--deliver']);
    expect(result.code).to.equal(1);
    expect(result.stderr.trim().split('\n')[0]).to.match(/^firestack: error: firestack outbox --deliver: the config names no logHost to send job logs to/);
    expect(fs.existsSync(path.join(ws.dir, 'state', 'outbox', 'j7.json'))).to.equal(true);
  });
});
