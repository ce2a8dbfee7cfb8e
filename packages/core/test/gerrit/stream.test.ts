import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { expect } from 'chai';
import { GerritSim, waitFor as until } from '@smokestack/testkit';
import { GerritEventStream } from '../../src/gerrit/stream.js';
import { Logger } from '../../src/log/logger.js';
import { GerritSshClient, type GerritSshOptions } from '../../src/gerrit/ssh.js';
import type { SshStreamEvent } from '../../src/gerrit/wire.js';
import { simUsers, writeClientKey } from '../bellows/harness.js';


describe('gerrit/stream GerritEventStream and SSH client', function () {
  this.timeout(20_000);
  let sim: GerritSim;
  let dir: string;
  let ssh: GerritSshOptions;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gerrit-stream-'));
    const identityFile = writeClientKey(dir);
    sim = await GerritSim.start({ users: simUsers(identityFile) });
    sim.createProject('nova');
    ssh = {
      host: sim.sshHost,
      port: sim.sshPort,
      username: 'smokestack',
      privateKey: fs.readFileSync(identityFile),
      hostKeyPolicy: { kind: 'pinned', hostKey: sim.hostPublicKey },
      keepaliveMs: 200,
    };
  });
  afterEach(() => sim.setFaults({}));
  after(async () => {
    await sim.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function start(silenceMs = 5000) {
    const events: SshStreamEvent[] = [];
    let connects = 0;
    const ac = new AbortController();
    const stream = new GerritEventStream({ ssh, silenceMs, backoff: { baseMs: 10, maxMs: 50 }, stableMs: 100_000 });
    const done = stream.run({ onConnect: () => void connects++, onEvent: (e) => void events.push(e) }, ac.signal);
    return { events, stream, ac, done, connects: () => connects };
  }

  it('delivers events in order and reconnects (with a connect hook) after the server kills the stream', async () => {
    const s = start();
    await until('connect', () => s.connects() === 1 && sim.streamCount === 1);
    const c = sim.createChange({ project: 'nova', subject: 'streamed' });
    sim.uploadPatchSet(c.number);
    await until('two events', () => s.events.length >= 2);
    expect(s.events.map((e) => e.type)).to.deep.equal(['patchset-created', 'patchset-created']);
    expect(s.events.map((e) => e.patchSet?.number)).to.deep.equal([1, 2]);
    sim.killStreams();
    await until('reconnect', () => s.connects() === 2 && sim.streamCount === 1);
    sim.comment(c.number, { author: 'alice', message: 'recheck' });
    await until('comment', () => s.events.some((e) => e.type === 'comment-added'));
    s.ac.abort();
    const stats = await s.done;
    expect(stats.connects).to.equal(2);
    expect(stats.disconnects).to.equal(1);
  });

  it('keeps a comment whose characters the server split across SSH packets (a Japanese recheck)', async () => {
    // Given a server sending every line in 7-byte packets, so 3-byte characters are cut between packets
    const s = start();
    await until('connect', () => s.connects() === 1 && sim.streamCount === 1);
    sim.setFaults({ sshChunkBytes: 7 });
    const c = sim.createChange({ project: 'nova', subject: '日本語の件名' });
    const comment = '再チェックをお願いします\nrecheck';
    // When a comment arrives
    sim.comment(c.number, { author: 'alice', message: comment });
    try {
      await until('comment', () => s.events.some((e) => e.type === 'comment-added'), 5000);
    } finally {
      s.ac.abort();
      await s.done;
    }
    // Then it reads as written
    const event = s.events.find((e) => e.type === 'comment-added')!;
    expect(event.comment).to.include(comment);
    expect(event.change?.subject).to.equal('日本語の件名');
  });

  it('reads gerrit query output whose characters the server split across SSH packets', async () => {
    sim.createChange({ project: 'nova', subject: '分割された件名のテスト' });
    sim.setFaults({ sshChunkBytes: 5 });
    const client = new GerritSshClient(ssh);
    const { changes } = await client.query('status:open project:nova');
    expect(changes.map((c) => c.subject)).to.include('分割された件名のテスト');
  });

  it('reconnects when a half-open stream goes silent', async () => {
    const s = start(300);
    await until('connect', () => s.connects() === 1);
    sim.setFaults({ silentStream: true });
    sim.createChange({ project: 'nova', subject: 'lost while silent' });
    await until('watchdog reconnect', () => s.connects() >= 2, 5000);
    sim.setFaults({});
    s.ac.abort();
    const stats = await s.done;
    expect(stats.lastDisconnect).to.match(/no data for/);
  });

  it('refuses a server whose host key is not the pinned one', async () => {
    const other = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
    const stream = new GerritEventStream({ ssh: { ...ssh, hostKeyPolicy: { kind: 'pinned', hostKey: other } }, silenceMs: 1000 });
    await stream.run({ onEvent: () => {} }, new AbortController().signal).then(
      () => expect.fail('expected a refusal'),
      (err: Error) => {
        expect(err.name).to.equal('UserError');
        expect(err.message).to.match(/does not match gerrit.ssh.hostKey/);
      },
    );
  });

  it('refuses a host missing from known_hosts, and accepts it once added', async () => {
    const knownHosts = path.join(dir, 'known_hosts');
    fs.writeFileSync(knownHosts, '');
    const client = new GerritSshClient({ ...ssh, hostKeyPolicy: { kind: 'known_hosts', files: [knownHosts] } });
    await client.query('status:open').then(
      () => expect.fail('expected a refusal'),
      (err: Error) => expect(err.message).to.match(/is not in .*known_hosts/),
    );
    fs.writeFileSync(knownHosts, `[${sim.sshHost}]:${sim.sshPort} ${sim.hostPublicKey}\n`);
    const { changes, stats } = await client.query('status:open project:nova');
    expect(changes.length).to.be.greaterThan(0);
    expect(changes[0]!.project).to.equal('nova');
    expect(stats.rowCount).to.equal(changes.length);
  });

  it('warns every time it accepts a host key without verifying it (--insecure-accept-host-key)', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (chunk) => (text += chunk));
    const logger = new Logger({ stream: out, tty: false });
    const client = new GerritSshClient({ ...ssh, hostKeyPolicy: { kind: 'insecure' }, logger });
    await client.query('status:open project:nova');
    await client.query('status:open project:nova');
    const warnings = text.split('\n').filter((l) => / warn: gerrit ssh: 127\.0\.0\.1:\d+: accepted host key SHA256:\S+ without verifying it/.test(l));
    expect(warnings, text).to.have.length(2);
  });

  it('backs off when the account lacks the Stream Events capability', async () => {
    const limitedDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gerrit-cap-'));
    const key = writeClientKey(limitedDir);
    const users = simUsers(key).map((u) => ({ ...u, streamEvents: false }));
    const limited = await GerritSim.start({ users });
    try {
      const ac = new AbortController();
      const stream = new GerritEventStream({
        ssh: { ...ssh, port: limited.sshPort, privateKey: fs.readFileSync(key), hostKeyPolicy: { kind: 'insecure' } },
        silenceMs: 1000,
        backoff: { baseMs: 50, maxMs: 400 },
      });
      const done = stream.run({ onEvent: () => {} }, ac.signal);
      await new Promise((r) => setTimeout(r, 600));
      ac.abort();
      const stats = await done;
      expect(stats.disconnects).to.be.within(1, 5);
      expect(stats.lastDisconnect).to.match(/Stream Events capability/);
    } finally {
      await limited.stop();
      fs.rmSync(limitedDir, { recursive: true, force: true });
    }
  });
});
