import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { LaunchpadSim } from '@smokestack/testkit';
import { LaunchpadCache, LaunchpadClient } from '../../src/launchpad/index.js';
import { StateStore } from '../../src/store/store.js';
import type { Change } from '../../src/model.js';
import { generateReport, loadProjectFile, resolveReportProjects, type ChangeSource } from '../../src/review/index.js';
import { NOW, makeChange, makeJob, vote } from './fixtures.js';

const HOSTILE = '<img src=x onerror="window.__pwned=1">';

/** The rows the page's script draws, as embedded in index.html. */
function pageDataOf(html: string) {
  const json = /<script type="application\/json" id="report-data">([^<]*)<\/script>/.exec(html);
  expect(json, 'the page data element').to.not.equal(null);
  return JSON.parse(json![1]!);
}

function source(changes: Change[]): ChangeSource & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    async openChanges(project, branch) {
      asked.push(`${project}@${branch}`);
      return changes.filter((c) => c.project === project && c.branch === branch);
    },
  };
}

describe('review/service: generateReport from fixtures (Launchpad simulator + store with jobs)', () => {
  let dir: string;
  let sim: LaunchpadSim;
  let store: StateStore;
  let changes: Change[];

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-report-'));
    sim = new LaunchpadSim();
    sim
      .addBug({ id: 1, tasks: [{ target: 'cinder', importance: 'Critical' }, { target: 'nova', importance: 'Low' }] })
      .addBug({ id: 2, tags: ['regression'], tasks: [{ target: 'nova', importance: 'Critical' }] })
      .addSpecification({ project: 'nova', name: 'cells', priority: 'High' });
    await sim.start();
    fs.mkdirSync(path.join(dir, 'state'));
    store = new StateStore(path.join(dir, 'state', 'state.json'));
    const nova = (n: number, o: Parameters<typeof makeChange>[1]) => makeChange(n, { project: 'openstack/nova', ...o });
    changes = [
      nova(11, { topic: 'bug/1', days: 2, subject: 'Fix the scheduler' }),
      nova(12, { topic: 'bug/2', days: 1, subject: 'Revert the regression' }),
      nova(13, { topic: 'bp/cells', days: 0, subject: HOSTILE, owner: { name: '<b>Mallory</b>' } }),
      nova(14, { wip: true, subject: 'WIP: not ready' }),
      nova(15, { days: 30, subject: 'Old and vetoed', approvals: [vote('Code-Review', -2, 'alice'), vote('Verified', 1, 'smokestack')] }),
      nova(16, { days: 5, url: 'javascript:alert(1)', subject: 'Odd URL', approvals: [vote('Code-Review', 0, 'bob'), vote('Code-Review', 2, 'carol')] }),
      makeChange(21, { project: 'openstack/glance', topic: 'bug/1', days: 3, url: undefined }),
    ];
    const [c11, c12] = [changes[0]!, changes[1]!];
    const other = makeChange(11, { project: 'openstack/glance' });
    await store.update((state) => {
      state.jobs['1'] = makeJob('1', c11, { status: 'infra_failed', attempt: 1 });
      state.jobs['2'] = makeJob('2', c11, {
        status: 'success',
        attempt: 2,
        summary: { tests: 120, failures: 0, errors: 0, skipped: 2, durationMs: 1000 },
        skipped: [
          { id: 'tempest.api.compute.test_live_migration', reason: 'requires libvirt' },
          { id: 'tempest.scenario.test_volume_boot', reason: 'no cinder' },
        ],
      });
      state.jobs['3'] = makeJob('3', c11, { template: 'unit', status: 'test_failed', summary: { tests: 50, failures: 3, errors: 1, skipped: 0, durationMs: 1 } });
      // An older patch set's job and another project's change 11 must not show.
      state.jobs['4'] = makeJob('4', c11, { template: 'old', patchSet: 1, revision: 'f'.repeat(40) });
      state.jobs['5'] = makeJob('5', other, { template: 'glance-only' });
      state.jobs['6'] = makeJob('6', c12, { status: 'running' });
    });
  });

  afterEach(async () => {
    await sim.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const run = async (extra: Partial<Parameters<typeof generateReport>[0]> = {}) => {
    const outDir = path.join(dir, 'out');
    const projects = resolveReportProjects({
      configured: [{ name: 'openstack/nova', branch: 'master', templates: ['tempest', 'unit'] }],
      fromFile: undefined,
      only: ['openstack/nova', 'openstack/glance'],
    });
    const result = await generateReport({
      projects,
      changes: source(changes),
      launchpad: new LaunchpadClient({ url: sim.url, cache: new LaunchpadCache(path.join(dir, 'cache', 'launchpad.json')), timeoutMs: 1000 }),
      store,
      outDir,
      now: NOW,
      botUsernames: ['smokestack'],
      gerritUrl: 'https://review.example.org',
      ...extra,
    });
    const json = JSON.parse(fs.readFileSync(path.join(outDir, 'reviewday.json'), 'utf8'));
    const html = fs.readFileSync(path.join(outDir, 'index.html'), 'utf8');
    return { result, json, html, outDir };
  };

  it('writes reviewday.json in the original shape plus our fields', async () => {
    const { result, json } = await run();
    expect(result.changes).to.equal(6);
    expect(result.projects).to.deep.equal([
      { name: 'openstack/nova', changes: 5, excluded: 1, launchpad: 'nova' },
      { name: 'openstack/glance', changes: 1, excluded: 0, launchpad: 'glance' },
    ]);
    expect(json.generated).to.equal(NOW.toISOString());
    const nova = json.projects['openstack/nova'];
    const urls = Object.keys(nova);
    // Score order: regression (350+3), Low bug (50+6), High feature (230), No link vetoed (0), No link 5 days (15)
    expect(urls.map((u) => nova[u].score)).to.deep.equal([353, 230, 56, 15, 0]);
    const fix = nova['https://review.example.org/c/openstack/nova/+/11'];
    expect(fix).to.deep.include({ score: 56, cause: 'Low bugfix', subject: 'Fix the scheduler', owner: 'Owner 11', feedback: { lowest: null, highest: null } });
    expect(fix).to.include({ number: 11, patchSet: 2, ageDays: 2 });
    expect(fix.reasons).to.deep.equal(['Low bugfix (+50)', 'bug 1 importance Low on nova', '2 days old (+6)']);
    expect(nova['https://review.example.org/c/openstack/nova/+/12'].cause).to.equal('Regression hotfix');
  });

  it('shows the latest attempt per template of the current patch set, with skipped tests and log links', async () => {
    const { json } = await run();
    const results = json.projects['openstack/nova']['https://review.example.org/c/openstack/nova/+/11'].results;
    expect(Object.keys(results)).to.deep.equal(['tempest', 'unit']);
    expect(results.tempest).to.deep.include({ status: 'success', jobId: '2', attempt: 2, tests: 120, skipped: 2, link: '../state/jobs/2/' });
    expect(results.tempest.skippedTests.map((t: { id: string }) => t.id)).to.deep.equal([
      'tempest.api.compute.test_live_migration',
      'tempest.scenario.test_volume_boot',
    ]);
    expect(results.unit).to.include({ status: 'test_failed', failures: 3, errors: 1 });
    expect(json.projects['openstack/glance']['https://review.example.org/c/openstack/glance/+/21'].results).to.deep.equal({});
  });

  it('lists required tests that did not run apart from ordinary skips in reviewday.json', async () => {
    await store.update((state) => {
      Object.assign(state.jobs['6']!, {
        status: 'incomplete',
        summary: { tests: 40, failures: 0, errors: 0, skipped: 2, durationMs: 1 },
        skipped: [{ id: 'tempest.compute.test_libvirt_spawn', reason: 'libvirt not available' }, { id: 'tempest.test_xen', reason: 'no xen' }],
        requiredSkipped: [{ id: 'tempest.compute.test_libvirt_spawn', pattern: '*libvirt*', reason: 'libvirt not available', template: 'tempest' }],
      });
    });
    const { json } = await run();
    const result = json.projects['openstack/nova']['https://review.example.org/c/openstack/nova/+/12'].results.tempest;
    expect(result).to.deep.include({ status: 'incomplete', skipped: 2 });
    expect(result.requiredSkipped).to.deep.equal([{ id: 'tempest.compute.test_libvirt_spawn', reason: 'libvirt not available', pattern: '*libvirt*', template: 'tempest' }]);
    expect(result.skippedTests).to.deep.equal([{ id: 'tempest.test_xen', reason: 'no xen' }]);
  });

  it('a template run per combination of its axes has one result per combination, each naming its axis values', async () => {
    const c12 = changes[1]!;
    await store.update((state) => {
      delete state.jobs['6'];
      state.jobs['7'] = makeJob('7', c12, { configuration: { database: 'mysql' }, status: 'success' });
      state.jobs['8'] = makeJob('8', c12, { configuration: { database: 'postgresql' }, status: 'test_failed' });
    });
    const { json, html } = await run();
    const results = json.projects['openstack/nova']['https://review.example.org/c/openstack/nova/+/12'].results;
    expect(Object.keys(results)).to.deep.equal(['tempest [database=mysql]', 'tempest [database=postgresql]']);
    expect(results['tempest [database=postgresql]']).to.deep.include({ template: 'tempest', configuration: { database: 'postgresql' }, status: 'test_failed', jobId: '8' });
    expect(results['tempest [database=mysql]']).to.deep.include({ template: 'tempest', configuration: { database: 'mysql' }, status: 'success' });
    // Change 11's plain tempest job still has its column beside the combinations' columns of change 12.
    expect(json.projects['openstack/nova']['https://review.example.org/c/openstack/nova/+/11'].results.tempest).to.not.have.property('configuration');
    // The page's script draws the combination as a piece of its own in each result cell.
    const data = pageDataOf(html);
    const nova = data.sections[0];
    const columns: string[] = nova.templates;
    const row = nova.rows.find((r: { n: number }) => r.n === 12);
    const cell = row.r[columns.indexOf('tempest [database=postgresql]')];
    expect(data.strings[cell.c]).to.equal('database=postgresql');
    expect(row.r[columns.indexOf('tempest')] ?? null, 'no plain tempest job for change 12').to.equal(null);
  });

  it('links each job to its page in the pages directory (index.html named, for a report opened from disk), or at the pages\' URL', async () => {
    const { json, html } = await run({ pagesDir: path.join(dir, 'state', 'web') });
    const results = json.projects['openstack/nova']['https://review.example.org/c/openstack/nova/+/11'].results;
    expect(results.tempest.link).to.equal('../state/web/jobs/2/index.html');
    const data = JSON.parse(/<script type="application\/json" id="report-data">([^<]*)<\/script>/.exec(html)![1]!);
    expect(data).to.include({ jobLinks: '../state/web/jobs/', jobSuffix: 'index.html' });
    const served = await run({ logsUrl: 'https://ci.example.org/smokestack/jobs/' });
    expect(served.json.projects['openstack/nova']['https://review.example.org/c/openstack/nova/+/11'].results.tempest.link).to.equal('https://ci.example.org/smokestack/jobs/2/');
  });

  it('feedback ignores nothing but never lets a 0 vote hide a +2; a CI vote never cancels the age bonus', async () => {
    const { json } = await run();
    const nova = json.projects['openstack/nova'];
    expect(nova['https://review.example.org/c/openstack/nova/+/16'].feedback).to.deep.equal({ lowest: 0, highest: 2 });
    const vetoed = Object.values(nova).find((c) => (c as { number: number }).number === 15) as { score: number; reasons: string[] };
    expect(vetoed.score).to.equal(0);
    expect(vetoed.reasons.at(-1)).to.equal('30 days old, no age bonus: Code-Review -2 by Alice');
  });

  it('renders Gerrit text as text, links only http(s) change URLs, and needs no network', async () => {
    changes[5] = { ...changes[5]!, subject: '</script><!--<script>window.__pwned=1</script>' };
    const { html } = await run();
    expect(html).to.not.include(HOSTILE);
    expect(html).to.not.include('<b>Mallory</b>');
    // The rows travel as JSON in one script element that no Gerrit text can end.
    expect(html.match(/<\/script/gi)).to.have.length(2);
    expect(html).to.not.include('<!--<script>');
    const data = pageDataOf(html);
    const nova = data.sections[0];
    const byNumber = (n: number) => nova.rows.find((r: { n: number }) => r.n === n);
    expect(byNumber(13).s).to.equal(HOSTILE);
    expect(data.strings[byNumber(13).o]).to.equal('<b>Mallory</b>');
    expect(byNumber(16).s).to.equal('</script><!--<script>window.__pwned=1</script>');
    expect(html).to.not.include('javascript:alert');
    // A link the page builds from the project's prefix, as it does for every change with Gerrit's URL.
    expect(byNumber(16).u ?? `${nova.changeLinks}16`).to.equal('https://review.example.org/c/openstack/nova/+/16');
    expect(html).to.not.match(/<(link|img|iframe)\b/i);
    expect(html).to.not.match(/<script[^>]+src=/i);
    expect(html).to.not.match(/url\(/i);
    const tempest = byNumber(11).r[nova.templates.indexOf('tempest')];
    expect(tempest).to.include({ t: 120, s: 2, j: '2' });
    expect(data.strings[tempest.st]).to.equal('success');
    expect(tempest.l ?? `${data.jobLinks}${tempest.j}/`).to.equal('../state/jobs/2/');
    expect(tempest.sk.map(([id, reason]: number[]) => [data.strings[id!], data.strings[reason!]])).to.deep.include(['tempest.api.compute.test_live_migration', 'requires libvirt']);
    expect(html).to.match(/5 changes<\/span> on master \(1 work in progress not shown\)/);
  });

  it('replaces the files atomically and leaves other files in the directory alone', async () => {
    const outDir = path.join(dir, 'out');
    fs.mkdirSync(outDir, { recursive: true });
    fs.writeFileSync(path.join(outDir, 'index.html'), 'old');
    fs.writeFileSync(path.join(outDir, 'robots.txt'), 'keep me');
    await run();
    expect(fs.readdirSync(outDir).sort()).to.deep.equal(['index.html', 'reviewday.json', 'robots.txt']);
    expect(fs.readFileSync(path.join(outDir, 'index.html'), 'utf8')).to.match(/^<!DOCTYPE html>/);
  });

  it('still writes the report when Launchpad is down: priorities unknown, with a warning', async () => {
    sim.failure = 'error';
    const { result, json, html } = await run();
    expect(result.warnings).to.have.length(1);
    expect(result.warnings[0]).to.match(/Launchpad .* is unavailable: HTTP 503/);
    expect(json.warnings).to.deep.equal(result.warnings);
    const fix = json.projects['openstack/nova']['https://review.example.org/c/openstack/nova/+/11'];
    expect(fix).to.include({ cause: 'Unknown bugfix', priorityUnknown: true });
    const row = pageDataOf(html).sections[0].rows.find((r: { n: number }) => r.n === 11);
    expect(row).to.include({ q: 1 });
    expect(pageDataOf(html).strings[row.c]).to.equal('Unknown bugfix');
    expect(html).to.include('<strong>Warning:</strong> Launchpad');
  });

  it('refuses unknown causes in the scoring table', async () => {
    const err = await run({ scores: { 'Critcal bugfix': 1 } }).catch((e: Error) => e);
    expect(err).to.be.instanceOf(Error);
    expect((err as Error).message).to.equal('report.scores: unknown cause "Critcal bugfix"');
  });

  describe('projects', () => {
    it('uses the launchpad_project mapping of the original projects file', () => {
      const file = path.join(dir, 'projects.yaml');
      fs.writeFileSync(file, 'projects:\n  - name: openstack/python-novaclient\n    launchpad_project: python-novaclient-lp\n  - name: openstack/nova\n');
      const projects = resolveReportProjects({
        configured: [{ name: 'openstack/nova', branch: 'stable/2024.1', templates: ['tempest'], launchpad: 'nova' }],
        fromFile: loadProjectFile(file),
      });
      expect(projects).to.deep.equal([
        { name: 'openstack/python-novaclient', branch: 'master', launchpad: 'python-novaclient-lp', templates: [] },
        { name: 'openstack/nova', branch: 'stable/2024.1', launchpad: 'nova', templates: ['tempest'] },
      ]);
    });

    it('the mapping decides which bug task counts', async () => {
      const file = path.join(dir, 'projects.yaml');
      fs.writeFileSync(file, 'projects:\n  - name: openstack/nova\n    launchpad_project: cinder\n');
      const outDir = path.join(dir, 'out');
      const result = await generateReport({
        projects: resolveReportProjects({ configured: [], fromFile: loadProjectFile(file) }),
        changes: source(changes),
        launchpad: new LaunchpadClient({ url: sim.url, timeoutMs: 1000 }),
        store,
        outDir,
        now: NOW,
      });
      expect(result.projects[0]!.launchpad).to.equal('cinder');
      const json = JSON.parse(fs.readFileSync(path.join(outDir, 'reviewday.json'), 'utf8'));
      expect(json.projects['openstack/nova']['https://review.example.org/c/openstack/nova/+/11'].cause).to.equal('Critical bugfix');
    });

    it('names the file and key of a bad projects file', () => {
      const file = path.join(dir, 'projects.yaml');
      fs.writeFileSync(file, 'projects:\n  - launchpad_project: nova\n');
      expect(() => loadProjectFile(file)).to.throw('projects.yaml: projects[0].name: expected a string');
    });

    it('refuses an empty project list and bad Launchpad names', () => {
      expect(() => resolveReportProjects({ configured: [] })).to.throw('no projects to report on');
      expect(() => resolveReportProjects({ configured: [], only: ['x'], fromFile: [{ name: 'x', launchpad: '../etc' }] })).to.throw(
        'project x: "../etc" is not a Launchpad project name',
      );
    });
  });
});
