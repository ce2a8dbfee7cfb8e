import { expect } from 'chai';
import { GerritSim } from '../../src/index.js';
import { rest } from './helpers.js';

describe('GerritSim REST', () => {
  let now: Date;
  let sim: GerritSim;

  beforeEach(async () => {
    now = new Date('2026-11-20T12:00:00.123Z');
    sim = await GerritSim.start({ clock: () => now });
  });
  afterEach(async () => { await sim.stop(); });

  describe('authentication and framing', () => {
    it('answers /a/ without valid credentials with 401 and a plain-text body', async () => {
      const none = await rest(sim, '/a/changes/?q=status:open', { auth: null });
      expect(none.status).to.equal(401);
      expect(none.headers.get('content-type')).to.match(/^text\/plain/);
      expect(none.headers.get('www-authenticate')).to.match(/^Basic/);
      expect(none.text).not.to.match(/^\)\]\}'/);
      const wrong = await rest(sim, '/a/changes/', { auth: `Basic ${Buffer.from('smokestack:nope').toString('base64')}` });
      expect(wrong.status).to.equal(401);
    });

    it("prefixes every JSON body with )]}' and serves anonymous GETs outside /a/", async () => {
      sim.createChange({ project: 'demo', subject: 'One' });
      const authed = await rest(sim, '/a/changes/?q=status:open');
      expect(authed.status).to.equal(200);
      expect(authed.text.startsWith(")]}'\n")).to.equal(true);
      expect(authed.json).to.have.length(1);
      const anon = await rest(sim, '/changes/?q=status:open', { auth: null });
      expect(anon.status).to.equal(200);
      expect(anon.json[0]._number).to.equal(1);
      const version = await rest(sim, '/config/server/version', { auth: null });
      expect(version.json).to.be.a('string');
      const self = await rest(sim, '/a/accounts/self');
      expect(self.json).to.include({ username: 'smokestack', name: 'SmokeStack CI' });
    });

    it('refuses writes outside /a/ and unknown paths', async () => {
      sim.createChange({ project: 'demo', subject: 'One' });
      expect((await rest(sim, '/changes/1/revisions/current/review', { body: {}, auth: null })).status).to.equal(403);
      expect((await rest(sim, '/a/nothing')).status).to.equal(404);
    });
  });

  describe('queries', () => {
    const hours = (h: number): Date => new Date(now.getTime() - h * 3600_000);

    beforeEach(() => {
      sim.createChange({ project: 'openstack/nova', subject: 'nova fresh', topic: 'bug/1', created: hours(1) }); // 1
      sim.createChange({ project: 'openstack/nova', subject: 'nova old', branch: 'stable/zed', created: hours(50) }); // 2
      sim.createChange({ project: 'openstack/glance', subject: 'glance wip', wip: true, created: hours(2) }); // 3
      sim.createChange({ project: 'openstack/glance', subject: 'glance merged', created: hours(3) }); // 4
      sim.createChange({ project: 'openstack/swift', subject: 'swift abandoned', created: hours(4) }); // 5
      now = new Date(now.getTime() + 1000);
      sim.merge(4);
      sim.abandon(5, 'obsolete');
    });

    const numbers = async (q: string): Promise<number[]> => {
      const res = await rest(sim, `/a/changes/?q=${encodeURIComponent(q)}`);
      expect(res.status, res.text).to.equal(200);
      return (res.json as Array<{ _number: number }>).map((c) => c._number);
    };

    it('filters by status, is:, project, branch, topic and change', async () => {
      expect(await numbers('status:open')).to.deep.equal([1, 3, 2]);
      expect(await numbers('is:open')).to.deep.equal([1, 3, 2]);
      expect(await numbers('status:merged')).to.deep.equal([4]);
      expect(await numbers('status:abandoned')).to.deep.equal([5]);
      expect(await numbers('status:closed')).to.deep.equal([5, 4]);
      expect(await numbers('is:wip')).to.deep.equal([3]);
      expect(await numbers('status:open -is:wip')).to.deep.equal([1, 2]);
      expect(await numbers('project:openstack/nova')).to.deep.equal([1, 2]);
      expect(await numbers('project:"^openstack/(glance|swift)"')).to.deep.equal([5, 4, 3]);
      expect(await numbers('branch:stable/zed')).to.deep.equal([2]);
      expect(await numbers('topic:bug/1')).to.deep.equal([1]);
      expect(await numbers('change:3')).to.deep.equal([3]);
    });

    it('combines terms with OR, NOT, parentheses and implicit AND', async () => {
      expect(await numbers('project:openstack/swift OR project:openstack/nova')).to.deep.equal([5, 1, 2]);
      expect(await numbers('(project:openstack/swift OR project:openstack/glance) status:closed')).to.deep.equal([5, 4]);
      expect(await numbers('status:open AND NOT project:openstack/nova')).to.deep.equal([3]);
      expect(await numbers('-(project:openstack/nova OR is:wip) is:open')).to.deep.equal([]);
      expect(await numbers('project:{openstack/glance} limit:1')).to.deep.equal([4]);
    });

    it('selects recently updated changes with -age: and after:', async () => {
      expect(await numbers('-age:90m')).to.deep.equal([5, 4, 1]);
      expect(await numbers('age:1d')).to.deep.equal([2]);
      expect(await numbers('after:"2026-11-20 09:30:00"')).to.deep.equal([5, 4, 1, 3]);
      expect(await numbers('after:{2026-11-20 09:30:00} status:open')).to.deep.equal([1, 3]);
      expect(await numbers('before:"2026-11-20 00:00:00"')).to.deep.equal([2]);
    });

    it('answers 400 to a malformed query or option', async () => {
      expect((await rest(sim, '/a/changes/?q=frobnicate:yes')).status).to.equal(400);
      expect((await rest(sim, '/a/changes/?q=(status:open')).status).to.equal(400);
      expect((await rest(sim, '/a/changes/?q=status:open&o=NOPE')).status).to.equal(400);
      expect((await rest(sim, '/a/changes/?q=status:open&n=x')).status).to.equal(400);
    });

    it('returns an array of arrays for repeated q', async () => {
      const res = await rest(sim, '/a/changes/?q=status:merged&q=status:abandoned');
      expect(res.json.map((list: Array<{ _number: number }>) => list.map((c) => c._number))).to.deep.equal([[4], [5]]);
    });
  });

  it('pages 1,234 changes at pageCap 100: each exactly once, _more_changes on the last element only while more exist', async () => {
    await sim.stop();
    sim = await GerritSim.start({ clock: () => now, pageCap: 100 });
    const base = now.getTime() - 2_000_000_000;
    for (let i = 0; i < 1234; i++) {
      sim.createChange({ project: `p${i % 7}`, subject: `change ${i}`, created: new Date(base + Math.floor(i / 3) * 1000) });
    }
    const seen = new Set<number>();
    let start = 0;
    let pages = 0;
    for (;;) {
      const res = await rest(sim, `/a/changes/?q=status:open&n=500&S=${start}&o=CURRENT_REVISION`);
      const page = res.json as Array<Record<string, unknown>>;
      pages++;
      expect(page.length).to.be.at.most(100);
      page.slice(0, -1).forEach((c) => expect(c).not.to.have.property('_more_changes'));
      for (const c of page) { expect(seen.has(c._number as number)).to.equal(false); seen.add(c._number as number); }
      if (!page[page.length - 1]?._more_changes) break;
      start += page.length;
    }
    expect(seen.size).to.equal(1234);
    expect(pages).to.equal(13);
  });

  it('answers page queries over 5,000 changes quickly', async () => {
    for (let i = 0; i < 5000; i++) sim.createChange({ project: `project-${i % 50}`, subject: `change ${i}` });
    const started = Date.now();
    for (let s = 0; s < 5000; s += 500) {
      const res = await rest(sim, `/a/changes/?q=status:open&n=500&S=${s}`);
      expect(res.json).to.have.length(500);
    }
    const one = await rest(sim, '/a/changes/?q=project:project-7 status:open&n=500');
    expect(one.json).to.have.length(100);
    expect(Date.now() - started).to.be.below(5000);
  });

  describe('ChangeInfo shapes', () => {
    beforeEach(() => {
      sim.createChange({ project: 'openstack/nova', subject: 'Fix the thing', owner: 'alice', topic: 'bug/7' });
      sim.uploadPatchSet(1, { kind: 'TRIVIAL_REBASE' });
      sim.comment(1, { author: 'smokestack', message: 'Build failed.', labels: { Verified: -1 }, tag: 'autogenerated:smokestack' });
    });

    it('keeps the default shape small: no revisions, labels or messages, owner as account id', async () => {
      const [c] = (await rest(sim, '/a/changes/?q=change:1')).json;
      expect(c).to.include({ id: 'openstack/nova~1', project: 'openstack/nova', branch: 'master', topic: 'bug/7', subject: 'Fix the thing', status: 'NEW', _number: 1 });
      expect(c.change_id).to.match(/^I[0-9a-f]{40}$/);
      expect(c.created).to.match(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{9}$/);
      expect(c.updated).to.equal('2026-11-20 12:00:00.123000000');
      expect(c.owner).to.deep.equal({ _account_id: 1000001 });
      for (const key of ['revisions', 'current_revision', 'labels', 'messages', 'work_in_progress']) expect(c).not.to.have.property(key);
    });

    it('adds current_revision and one RevisionInfo with CURRENT_REVISION, all with ALL_REVISIONS', async () => {
      const change = sim.getChange(1)!;
      const [c] = (await rest(sim, '/a/changes/?q=change:1&o=CURRENT_REVISION&o=DETAILED_ACCOUNTS')).json;
      expect(c.current_revision).to.equal(change.patchSets[1]!.revision);
      expect(Object.keys(c.revisions)).to.deep.equal([change.patchSets[1]!.revision]);
      const rev = c.revisions[c.current_revision];
      expect(rev).to.include({ _number: 2, ref: 'refs/changes/01/1/2', kind: 'TRIVIAL_REBASE' });
      expect(rev.uploader).to.deep.equal({ _account_id: 1000001, name: 'Alice Developer', email: 'alice@example.org', username: 'alice' });
      expect(rev.fetch['anonymous http']).to.deep.equal({ url: `${sim.httpUrl}/openstack/nova`, ref: 'refs/changes/01/1/2' });
      const [all] = (await rest(sim, '/a/changes/?q=change:1&o=ALL_REVISIONS')).json;
      expect(Object.keys(all.revisions)).to.have.length(2);
    });

    it('reports labels with LABELS and every vote plus value keys with DETAILED_LABELS', async () => {
      const [c] = (await rest(sim, '/a/changes/?q=change:1&o=LABELS')).json;
      expect(c.labels.Verified).to.deep.equal({ rejected: { _account_id: 1000000 } });
      expect(c.labels['Code-Review']).to.deep.equal({});
      const [d] = (await rest(sim, '/a/changes/?q=change:1&o=DETAILED_LABELS&o=DETAILED_ACCOUNTS')).json;
      expect(Object.keys(d.labels.Verified.values)).to.deep.equal(['-1', ' 0', '+1']);
      expect(Object.keys(d.labels['Code-Review'].values)).to.deep.equal(['-2', '-1', ' 0', '+1', '+2']);
      expect(d.labels.Verified.all[0]).to.include({ value: -1, tag: 'autogenerated:smokestack', username: 'smokestack', _account_id: 1000000 });
      expect(d.labels.Verified.all[0].date).to.equal('2026-11-20 12:00:00.123000000');
    });

    it('lists messages with MESSAGES and marks work in progress only when true', async () => {
      sim.setWip(1, true);
      const [c] = (await rest(sim, '/a/changes/?q=change:1&o=MESSAGES')).json;
      expect(c.work_in_progress).to.equal(true);
      const texts = c.messages.map((m: { message: string }) => m.message);
      expect(texts).to.deep.equal(['Uploaded patch set 1.', 'Uploaded patch set 2.', 'Patch Set 2: Verified-1\n\nBuild failed.', 'Set Work In Progress']);
      expect(c.messages[2]).to.include({ tag: 'autogenerated:smokestack', _revision_number: 2 });
      expect(c.messages[2].id).to.match(/^[0-9a-f]{40}$/);
    });

    it('resolves project~number, number and project~branch~Change-Id, and /detail', async () => {
      const changeId = sim.getChange(1)!.changeId;
      for (const id of ['openstack%2Fnova~1', '1', `openstack%2Fnova~master~${changeId}`]) {
        const res = await rest(sim, `/a/changes/${id}`);
        expect(res.status, id).to.equal(200);
        expect(res.json._number).to.equal(1);
      }
      expect((await rest(sim, '/a/changes/openstack%2Fglance~1')).status).to.equal(404);
      expect((await rest(sim, '/a/changes/99')).status).to.equal(404);
      const detail = (await rest(sim, '/changes/openstack%2Fnova~1/detail', { auth: null })).json;
      expect(detail.labels.Verified.all).to.have.length(1);
      expect(detail.messages).to.have.length(3);
      expect(detail.owner.username).to.equal('alice');
    });
  });

  describe('posting reviews', () => {
    beforeEach(() => { sim.createChange({ project: 'openstack/nova', subject: 'Fix' }); });

    it('records the vote and message and answers with the applied labels', async () => {
      const revision = sim.getChange(1)!.patchSets[0]!.revision;
      const res = await rest(sim, `/a/changes/openstack%2Fnova~1/revisions/${revision}/review`, {
        body: { message: 'Build succeeded.', labels: { Verified: 1, Unknown: 1 }, tag: 'autogenerated:smokestack', notify: 'OWNER' },
      });
      expect(res.status).to.equal(200);
      expect(res.text.startsWith(")]}'\n")).to.equal(true);
      expect(res.json).to.deep.equal({ labels: { Verified: 1 } });
      expect(sim.reviews(1)).to.have.length(1);
      expect(sim.reviews(1)[0]).to.include({ patchSet: 1, revision, message: 'Build succeeded.', tag: 'autogenerated:smokestack', by: 'smokestack', via: 'rest' });
      const [c] = (await rest(sim, '/a/changes/?q=change:1&o=LABELS')).json;
      expect(c.labels.Verified.approved).to.deep.equal({ _account_id: 1000000 });
    });

    it('tells onReview listeners of an accepted review and answers the client only once they are done', async () => {
      const order: string[] = [];
      const unsubscribe = sim.onReview(async (review) => {
        order.push(`accepted ${review.patchSet} ${sim.reviews(1).length}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
        order.push('listener done');
      });
      await rest(sim, '/a/changes/1/revisions/current/review', { body: { labels: { Verified: 1 } } }).then(() => order.push('answered'));
      unsubscribe();
      await rest(sim, '/a/changes/1/revisions/current/review', { body: { message: 'again' } });
      expect(order).to.deep.equal(['accepted 1 1', 'listener done', 'answered']);
    });

    it('accepts current and patch-set numbers as revision ids', async () => {
      expect((await rest(sim, '/a/changes/1/revisions/current/review', { body: { labels: { Verified: -1 } } })).status).to.equal(200);
      expect((await rest(sim, '/a/changes/1/revisions/1/review', { body: { message: 'again' } })).status).to.equal(200);
      expect(sim.reviews(1).map((r) => r.patchSet)).to.deep.equal([1, 1]);
    });

    it('stores a vote on an outdated patch set without touching the current labels', async () => {
      const old = sim.getChange(1)!.patchSets[0]!.revision;
      sim.uploadPatchSet(1);
      const res = await rest(sim, `/a/changes/1/revisions/${old}/review`, { body: { labels: { Verified: -1 }, message: 'late' } });
      expect(res.status).to.equal(200);
      expect(sim.reviews(1)[0]).to.include({ patchSet: 1, revision: old });
      const [c] = (await rest(sim, '/a/changes/?q=change:1&o=LABELS')).json;
      expect(c.labels.Verified).to.deep.equal({});
    });

    it('answers 409 on a closed change, 404 on unknown change or revision, 400 on bad JSON or a bad value', async () => {
      sim.createChange({ project: 'openstack/nova', subject: 'Other' });
      sim.merge(2);
      expect((await rest(sim, '/a/changes/2/revisions/current/review', { body: { labels: { Verified: 1 } } })).status).to.equal(409);
      expect((await rest(sim, '/a/changes/77/revisions/current/review', { body: {} })).status).to.equal(404);
      expect((await rest(sim, `/a/changes/1/revisions/${'f'.repeat(40)}/review`, { body: {} })).status).to.equal(404);
      expect((await rest(sim, '/a/changes/1/revisions/current/review', { body: '{"labels":' })).status).to.equal(400);
      expect((await rest(sim, '/a/changes/1/revisions/current/review', { body: { labels: { Verified: 2 } } })).status).to.equal(400);
      expect(sim.reviews()).to.have.length(0);
    });
  });

  describe('faults', () => {
    beforeEach(() => { sim.createChange({ project: 'demo', subject: 'One' }); });

    it('replaces answers with 500, 503 and 429 (Retry-After: 0) at errorRate 1, and counts them', async () => {
      sim.setFaults({ errorRate: 1 });
      const before = sim.requestCount;
      const statuses = new Set<number>();
      for (let i = 0; i < 30; i++) {
        const res = await rest(sim, '/a/changes/?q=status:open');
        statuses.add(res.status);
        if (res.status === 429) expect(res.headers.get('retry-after')).to.equal('0');
        expect(res.text).not.to.match(/^\)\]\}'/);
      }
      expect([...statuses].sort()).to.deep.equal([429, 500, 503]);
      expect(sim.requestCount - before).to.equal(30);
      sim.setFaults({});
      expect((await rest(sim, '/a/changes/?q=status:open')).status).to.equal(200);
    });

    it('never applies a faulted review', async () => {
      sim.setFaults({ errorRate: 1 });
      await rest(sim, '/a/changes/1/revisions/current/review', { body: { labels: { Verified: 1 } } });
      expect(sim.reviews()).to.have.length(0);
    });

    it('destroys connections at dropRate 1 and delays answers by latencyMs', async () => {
      sim.setFaults({ dropRate: 1 });
      let failed = false;
      try { await rest(sim, '/a/changes/'); } catch { failed = true; }
      expect(failed).to.equal(true);
      sim.setFaults({ latencyMs: 150 });
      const started = Date.now();
      expect((await rest(sim, '/a/changes/')).status).to.equal(200);
      expect(Date.now() - started).to.be.at.least(140);
    });

    it('serves a corrupted ChangeInfo in lists and single GETs, as asked, until told to stop', async () => {
      sim.createChange({ project: 'openstack/nova', subject: 'Two' });
      sim.createChange({ project: 'openstack/nova', subject: 'Three' });
      sim.corruptChangeInfo(1, () => null);
      sim.corruptChangeInfo(2, (info) => ({ ...info, _number: 1e12 }));
      expect((await rest(sim, '/changes/?q=status:open')).json.map((c: { _number: number } | null) => c?._number ?? null)).to.deep.equal([3, 1e12, null]);
      expect((await rest(sim, '/changes/1')).json).to.equal(null);
      sim.corruptChangeInfo(1, undefined);
      expect((await rest(sim, '/changes/1')).json._number).to.equal(1);
    });

    it('makes the same fault decisions for the same seed', async () => {
      const run = async (): Promise<number[]> => {
        const s = await GerritSim.start({ seed: 42, faults: { errorRate: 0.5 } });
        const out: number[] = [];
        for (let i = 0; i < 12; i++) out.push((await rest(s, '/changes/')).status);
        await s.stop();
        return out;
      };
      const first = await run();
      expect(first).to.include(200);
      expect(await run()).to.deep.equal(first);
    });
  });
});
