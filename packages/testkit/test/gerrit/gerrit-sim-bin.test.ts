import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { execa, type ResultPromise } from 'execa';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/gerrit-sim.js');

/** Starts the built bin and resolves once it printed its URLs. */
async function startBin(args: string[]): Promise<{ proc: ResultPromise; httpUrl: string; output: () => string }> {
  const proc = execa('node', [BIN, ...args], { reject: false });
  let output = '';
  const httpUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gerrit-sim did not start: ${output}`)), 10_000);
    proc.stdout!.on('data', (d: Buffer) => {
      output += d.toString();
      const m = /REST:\s+(http:\/\/\S+)/.exec(output);
      if (m && output.includes('Host key: ssh-ed25519 ')) { clearTimeout(timer); resolve(m[1]!); }
    });
    void proc.then((r) => { clearTimeout(timer); reject(new Error(`gerrit-sim exited: ${String(r.stderr)}`)); });
  });
  return { proc, httpUrl, output: () => output };
}

async function openChanges(httpUrl: string): Promise<Array<Record<string, any>>> {
  const text = await (await fetch(`${httpUrl}/changes/?q=status:open&o=ALL_REVISIONS`)).text();
  return JSON.parse(text.slice(5));
}

describe('gerrit-sim bin (built dist)', () => {
  let dir: string;
  const procs: ResultPromise[] = [];

  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gerrit-sim-bin-')); });
  afterEach(async () => {
    for (const p of procs.splice(0)) { p.kill('SIGKILL'); await p; }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('serves a seeded scenario, takes control calls, saves on SIGTERM and reloads the same state', async () => {
    const data = path.join(dir, 'scenario.json');
    fs.writeFileSync(data, JSON.stringify({ changes: [{ project: 'demo/app', subject: 'Seeded change', patchSets: 2, topic: 'bug/1' }] }));

    const first = await startBin(['--data', data, '--git', path.join(dir, 'git')]);
    procs.push(first.proc);
    const seeded = await openChanges(first.httpUrl);
    expect(seeded.map((c) => c.subject)).to.deep.equal(['Seeded change']);
    expect(Object.keys(seeded[0]!.revisions)).to.have.length(2);
    const created = await fetch(`${first.httpUrl}/_sim/changes`, { method: 'POST', body: JSON.stringify({ project: 'demo/app', subject: 'Via control API' }) });
    expect(created.status).to.equal(200);
    first.proc.kill('SIGTERM');
    const exit = await first.proc;
    expect(exit.exitCode).to.equal(0);
    const saved = JSON.parse(fs.readFileSync(data, 'utf8'));
    expect(saved.changes).to.have.length(2);

    const second = await startBin(['--data', data, '--git', path.join(dir, 'git')]);
    procs.push(second.proc);
    const reloaded = await openChanges(second.httpUrl);
    expect(reloaded.map((c) => c.subject).sort()).to.deep.equal(['Seeded change', 'Via control API']);
    const before = seeded[0]!.current_revision ?? Object.keys(seeded[0]!.revisions).find((sha) => seeded[0]!.revisions[sha]._number === 2);
    expect(Object.keys(reloaded.find((c) => c.subject === 'Seeded change')!.revisions)).to.include(before);
    expect(second.output()).to.contain(first.output().match(/Host key: (\S+ \S+)/)![1]);
  });
});
