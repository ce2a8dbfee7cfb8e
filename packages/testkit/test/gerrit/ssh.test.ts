import { expect } from 'chai';
import ssh2 from 'ssh2';
import { GerritSim, splitCommandLine } from '../../src/index.js';
import { connect, exec, generateUserKey, settle, streamEvents } from './helpers.js';

describe('GerritSim SSH', () => {
  const ciKey = generateUserKey();
  const botKey = generateUserKey();
  let sim: GerritSim;
  let client: ssh2.Client;
  const clients: ssh2.Client[] = [];

  const open = async (username = 'smokestack', auth: { privateKey?: string; password?: string } = { privateKey: ciKey.privateKey }) => {
    const c = await connect(sim, username, auth);
    clients.push(c);
    return c;
  };

  beforeEach(async () => {
    sim = await GerritSim.start({
      users: [
        { username: 'smokestack', password: 'secret', name: 'SmokeStack CI', email: 'ci@example.org', sshPublicKey: ciKey.publicKey },
        { username: 'alice', password: 'alice-secret', name: 'Alice Developer', email: 'alice@example.org' },
        { username: 'nostream', password: 'pw', name: 'No Stream', email: 'ns@example.org', sshPublicKey: botKey.publicKey, streamEvents: false },
      ],
    });
    client = await open();
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.end();
    await sim.stop();
  });

  describe('authentication', () => {
    it('accepts the registered public key and passwords, rejects another key', async () => {
      expect((await exec(client, 'gerrit version')).stdout).to.match(/^gerrit version \d/);
      const byPassword = await open('alice', { password: 'alice-secret' });
      expect((await exec(byPassword, 'gerrit version')).code).to.equal(0);
      let rejected = false;
      try { await open('smokestack', { privateKey: botKey.privateKey }); } catch { rejected = true; }
      expect(rejected).to.equal(true);
    });

    it('presents an ed25519 host key', () => {
      expect(sim.hostPublicKey).to.match(/^ssh-ed25519 AAAA[0-9A-Za-z+/=]+$/);
    });

    it('answers unknown commands on stderr with exit status 1', async () => {
      const res = await exec(client, 'gerrit frobnicate');
      expect(res.code).to.equal(1);
      expect(res.stderr).to.match(/frobnicate/);
      expect((await exec(client, 'ls -la')).code).to.equal(1);
    });
  });

  describe('stream-events', () => {
    it('delivers every scenario event type in Gerrit JSON', async () => {
      const stream = await streamEvents(client);
      await settle(sim, 1);
      const change = sim.createChange({ project: 'openstack/nova', subject: 'Fix', topic: 'bug/1' });
      sim.uploadPatchSet(change.number);
      sim.comment(change.number, { author: 'alice', message: 'recheck', labels: { 'Code-Review': 1 } });
      sim.setWip(change.number, true);
      sim.setWip(change.number, false);
      sim.abandon(change.number, 'not now');
      sim.restore(change.number, 'now');
      sim.merge(change.number);
      sim.emitDroppedOutput();
      await stream.waitFor((e) => e.type === 'dropped-output');
      expect(stream.events.map((e) => e.type)).to.deep.equal([
        'patchset-created', 'patchset-created', 'comment-added', 'wip-state-changed', 'wip-state-changed',
        'change-abandoned', 'change-restored', 'ref-updated', 'change-merged', 'dropped-output',
      ]);
      for (const e of stream.events) expect(e.eventCreatedOn).to.be.a('number');
      const [created, ps2, comment, wip, , abandoned, restored, refUpdated, merged] = stream.events as Array<Record<string, any>>;
      expect(created!.change).to.include({ project: 'openstack/nova', branch: 'master', topic: 'bug/1', id: change.changeId, number: 1, subject: 'Fix', open: true, status: 'NEW' });
      expect(created!.change.owner).to.deep.equal({ name: 'Alice Developer', email: 'alice@example.org', username: 'alice' });
      expect(created!.change.url).to.equal(`${sim.httpUrl}/c/openstack/nova/+/1`);
      expect(created!.change).to.have.property('createdOn').that.is.a('number');
      expect(created!.change).to.have.property('lastUpdated').that.is.a('number');
      expect(created!.change).not.to.have.property('wip');
      expect(created!.patchSet).to.include({ number: 1, revision: change.patchSets[0]!.revision, ref: 'refs/changes/01/1/1', kind: 'REWORK' });
      expect(created!.patchSet.uploader.username).to.equal('alice');
      expect(created!.uploader.username).to.equal('alice');
      expect(ps2!.patchSet.number).to.equal(2);
      expect(comment!.author.username).to.equal('alice');
      expect(comment!.comment).to.equal('Patch Set 2: Code-Review+1\n\nrecheck');
      expect(comment!.approvals).to.deep.include({ type: 'Code-Review', description: 'Code-Review', value: '1', oldValue: '0', grantedOn: comment!.approvals.find((a: any) => a.type === 'Code-Review').grantedOn, by: { name: 'Alice Developer', email: 'alice@example.org', username: 'alice' } });
      expect(wip!.change.wip).to.equal(true);
      expect(wip!.changer.username).to.equal('alice');
      expect(abandoned!).to.include({ reason: 'not now' });
      expect(abandoned!.change).to.include({ open: false, status: 'ABANDONED' });
      expect(restored!).to.include({ reason: 'now' });
      expect(refUpdated!.refUpdate).to.include({ refName: 'refs/heads/master', project: 'openstack/nova', newRev: change.patchSets[1]!.revision });
      expect(refUpdated!.refUpdate.oldRev).to.match(/^[0-9a-f]{40}$/);
      expect(merged!).to.include({ newRev: change.patchSets[1]!.revision });
      expect(merged!.change.status).to.equal('MERGED');
      stream.close();
    });

    it('honours -s subscriptions', async () => {
      const stream = await streamEvents(client, '-s comment-added --subscribe change-merged');
      await settle(sim, 1);
      const change = sim.createChange({ project: 'demo', subject: 'One' });
      sim.comment(change.number, { author: 'alice', message: 'recheck' });
      sim.merge(change.number);
      await stream.waitFor((e) => e.type === 'change-merged');
      expect(stream.events.map((e) => e.type)).to.deep.equal(['comment-added', 'change-merged']);
    });

    it('refuses an account without the Stream Events capability', async () => {
      const other = await open('nostream', { privateKey: botKey.privateKey });
      const res = await exec(other, 'gerrit stream-events');
      expect(res.code).to.equal(1);
      expect(res.stderr).to.match(/Stream Events/);
    });

    it('killStreams drops every session without an exit status', async () => {
      const stream = await streamEvents(client);
      const second = await streamEvents(await open());
      await settle(sim, 2);
      sim.killStreams();
      await Promise.all([stream.closed, second.closed]);
      expect(sim.streamCount).to.equal(0);
    });

    it('stays open but sends nothing while silentStream is set', async () => {
      const stream = await streamEvents(client);
      await settle(sim, 1);
      sim.setFaults({ silentStream: true });
      sim.createChange({ project: 'demo', subject: 'lost' });
      await new Promise((r) => setTimeout(r, 100));
      expect(stream.events).to.have.length(0);
      expect(sim.streamCount).to.equal(1);
      sim.setFaults({});
      sim.createChange({ project: 'demo', subject: 'seen' });
      const e = await stream.waitFor((x) => x.type === 'patchset-created');
      expect(e.change.subject).to.equal('seen');
    });

    it('answers client keepalives, and stops answering them under frozenStream', async () => {
      const watched = await new Promise<ssh2.Client>((resolve, reject) => {
        const c = new ssh2.Client();
        c.once('ready', () => resolve(c)).once('error', reject);
        c.connect({ host: sim.sshHost, port: sim.sshPort, username: 'smokestack', privateKey: ciKey.privateKey, keepaliveInterval: 50, keepaliveCountMax: 2 });
      });
      clients.push(watched);
      const errors: Error[] = [];
      watched.on('error', (err) => errors.push(err));
      const stream = await streamEvents(watched);
      await settle(sim, 1);
      await new Promise((r) => setTimeout(r, 300));
      expect(errors).to.have.length(0);
      sim.setFaults({ frozenStream: true });
      await stream.closed;
      expect(errors.map((e) => e.message).join()).to.match(/keepalive/i);
    });
  });

  describe('query', () => {
    beforeEach(async () => {
      for (let i = 0; i < 5; i++) sim.createChange({ project: i < 3 ? 'openstack/nova' : 'openstack/glance', subject: `change ${i + 1}` });
      await new Promise((r) => setTimeout(r, 5)); // the vote below makes change 2 the most recently updated
      sim.comment(2, { author: 'smokestack', message: 'ok', labels: { Verified: 1 } });
    });

    const lines = (out: string): Array<Record<string, any>> => out.trim().split('\n').map((l) => JSON.parse(l));

    it('prints one change per line and a stats line', async () => {
      const res = await exec(client, "gerrit query --format=JSON --current-patch-set 'project:openstack/nova status:open'");
      expect(res.code).to.equal(0);
      const rows = lines(res.stdout);
      expect(rows.slice(0, -1).map((r) => r.number)).to.deep.equal([2, 3, 1]);
      expect(rows.at(-1)).to.include({ type: 'stats', rowCount: 3, moreChanges: false });
      expect(rows.at(-1)!.runTimeMilliseconds).to.be.a('number');
      const two = rows[0]!;
      expect(two.currentPatchSet).to.include({ number: 1, ref: 'refs/changes/02/2/1' });
      expect(two.currentPatchSet.approvals[0]).to.include({ type: 'Verified', value: '1' });
      expect(two.currentPatchSet.approvals[0].by.username).to.equal('smokestack');
    });

    it('pages with limit: and --start and reports moreChanges', async () => {
      const first = lines((await exec(client, 'gerrit query --format JSON status:open limit:2')).stdout);
      expect(first.at(-1)).to.include({ rowCount: 2, moreChanges: true });
      const rest = lines((await exec(client, 'gerrit query --format=JSON --start 4 status:open limit:2')).stdout);
      expect(rest.at(-1)).to.include({ rowCount: 1, moreChanges: false });
    });

    it('includes every patch set with --all-approvals', async () => {
      sim.uploadPatchSet(1);
      const [row] = lines((await exec(client, 'gerrit query --format=JSON --all-approvals change:1')).stdout);
      expect(row!.patchSets.map((p: { number: number }) => p.number)).to.deep.equal([1, 2]);
    });

    it('shows the current patch set’s commit message, footers included, as commitMessage', async () => {
      sim.uploadPatchSet(1, { message: 'Depends-On: I0123456789abcdef0123456789abcdef01234567' });
      const [row] = lines((await exec(client, 'gerrit query --format=JSON --current-patch-set change:1')).stdout);
      expect(row!.commitMessage).to.equal(`change 1\n\nDepends-On: I0123456789abcdef0123456789abcdef01234567\nChange-Id: ${sim.getChange(1)!.changeId}\n`);
    });

    it('reports a bad query as an error line', async () => {
      const res = await exec(client, 'gerrit query --format=JSON nonsense:1');
      expect(lines(res.stdout)[0]).to.include({ type: 'error' });
    });
  });

  describe('review', () => {
    beforeEach(() => { sim.createChange({ project: 'openstack/nova', subject: 'Fix' }); });

    it('reads a ReviewInput from stdin with --json', async () => {
      const res = await exec(client, 'gerrit review --json 1,1', JSON.stringify({ message: 'Build failed.', labels: { Verified: -1 }, tag: 'autogenerated:smokestack' }));
      expect(res.code, res.stderr).to.equal(0);
      expect(sim.reviews(1)[0]).to.include({ patchSet: 1, message: 'Build failed.', tag: 'autogenerated:smokestack', via: 'ssh', by: 'smokestack' });
      expect(sim.reviews(1)[0]!.labels).to.deep.equal({ Verified: -1 });
    });

    it('takes -m, --label and --tag with Gerrit quoting', async () => {
      const res = await exec(client, `gerrit review -m "Build succeeded: see logs" --label Verified=+1 --tag autogenerated:smokestack 1,1`);
      expect(res.code, res.stderr).to.equal(0);
      expect(sim.reviews(1)[0]).to.include({ message: 'Build succeeded: see logs', tag: 'autogenerated:smokestack' });
      expect(sim.reviews(1)[0]!.labels).to.deep.equal({ Verified: 1 });
      expect(sim.getChange(1)!.messages.at(-1)!.message).to.equal('Patch Set 1: Verified+1\n\nBuild succeeded: see logs');
    });

    it('fails with exit status 1 on a closed change or unknown patch set', async () => {
      sim.merge(1);
      const closed = await exec(client, 'gerrit review --label Verified=-1 1,1');
      expect(closed.code).to.equal(1);
      expect(closed.stderr).to.match(/closed/);
      expect((await exec(client, 'gerrit review -m hi 1,9')).code).to.equal(1);
      expect(sim.reviews()).to.have.length(0);
    });
  });

  it('splits command lines like Gerrit', () => {
    expect(splitCommandLine(`gerrit review -m '"two words"' --tag "a b" x\\ y`)).to.deep.equal(['gerrit', 'review', '-m', '"two words"', '--tag', 'a b', 'x y']);
  });
});
