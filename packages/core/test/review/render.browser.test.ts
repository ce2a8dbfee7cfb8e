/// <reference lib="dom" />
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'chai';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { StateStore } from '../../src/store/store.js';
import type { Change } from '../../src/model.js';
import { generateReport, type ChangeSource } from '../../src/review/index.js';
import { NOW, makeChange, makeJob, vote } from './fixtures.js';

const HOSTILE = '<img src=x onerror="window.__pwned=1">';
const ARTIFACTS = path.resolve(import.meta.dirname, '..', '..', '..', '..', 'test-artifacts');

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

function fixtureChanges(): Change[] {
  const owners = ['Alice Adams', 'Bob Brown', 'Carol Chen', 'Dan Drake'];
  const topics = [undefined, 'bug/1', 'bp/cells', 'bug/2'];
  const changes: Change[] = [];
  for (const [p, project] of ['openstack/nova', 'openstack/glance'].entries()) {
    for (let i = 0; i < 8; i++) {
      const number = 1000 + p * 100 + i;
      changes.push(
        makeChange(number, {
          project,
          url: `https://review.example.org/c/${project}/+/${number}`,
          subject: i === 3 && p === 0 ? HOSTILE : `${['Fix', 'Add', 'Remove', 'Refactor'][i % 4]} ${project.split('/')[1]} thing ${i}`,
          owner: { name: owners[(i + p) % 4], username: `u${i}` },
          topic: topics[i % 4],
          days: (i * 7) % 11,
          approvals: i % 3 === 0 ? [vote('Code-Review', -1, 'bob'), vote('Verified', 1, 'smokestack')] : i % 3 === 1 ? [vote('Code-Review', 2, 'carol')] : [],
        }),
      );
    }
  }
  return changes;
}

describe('review/render in Chromium (network blocked)', function () {
  this.timeout(30_000);
  let dir: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const external: string[] = [];

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-browser-'));
    fs.mkdirSync(path.join(dir, 'state'));
    const store = new StateStore(path.join(dir, 'state', 'state.json'));
    const changes = fixtureChanges();
    await store.update((state) => {
      changes.forEach((change, i) => {
        const status = (['success', 'test_failed', 'infra_failed', 'running'] as const)[i % 4];
        state.jobs[`j${i}`] = makeJob(`j${i}`, change, {
          status,
          summary: { tests: 200 + i, failures: status === 'test_failed' ? 2 : 0, errors: 0, skipped: i % 2 ? 3 : 0, durationMs: 1 },
          skipped: i % 2 ? [{ id: 'tempest.api.compute.test_live_migration', reason: 'requires libvirt' }, { id: 'tempest.api.volume.test_attach' }, { id: HOSTILE }] : [],
        });
        if (i % 3 === 0) state.jobs[`u${i}`] = makeJob(`u${i}`, change, { template: 'unit' });
      });
    });
    const source: ChangeSource = { openChanges: async (project) => changes.filter((c) => c.project === project) };
    await generateReport({
      projects: [
        { name: 'openstack/nova', branch: 'master', launchpad: 'nova', templates: ['tempest', 'unit'] },
        { name: 'openstack/glance', branch: 'master', launchpad: 'glance', templates: ['tempest'] },
        { name: 'openstack/swift', branch: 'master', launchpad: 'swift', templates: [] },
      ],
      changes: source,
      store,
      outDir: path.join(dir, 'out'),
      now: NOW,
      botUsernames: ['smokestack'],
      title: 'Review priorities',
    });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    context = await browser.newContext({ offline: true, viewport: { width: 1400, height: 900 } });
    await context.route('**/*', (route) => {
      if (route.request().url().startsWith('file:')) return route.continue();
      external.push(route.request().url());
      return route.abort();
    });
    page = await context.newPage();
    await page.goto(pathToFileURL(path.join(dir, 'out', 'index.html')).href);
  });

  after(async () => {
    await browser?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const scores = (section: string) => page.$$eval(`#${section} tbody tr:not([hidden]) td.score`, (tds) => tds.map((td) => Number(td.textContent)));
  const column = (section: string, index: number) =>
    page.$$eval(`#${section} tbody tr`, (rows, i) => rows.map((r) => (r as HTMLTableRowElement).cells[i]!.getAttribute('data-sort') ?? 'MISSING'),
      index,
    );
  const ariaSort = (section: string) => page.$$eval(`#${section} thead th`, (ths) => ths.map((th) => th.getAttribute('aria-sort')));

  it('loads with the network blocked, needing nothing from outside', async () => {
    expect(await page.title()).to.equal('Review priorities');
    expect(await page.locator('main section').count()).to.equal(3);
    expect(await page.locator('#p3 td.empty').textContent()).to.equal('No open changes.');
    expect(external).to.deep.equal([]);
  });

  it('shows rows in score order, marked as sorted by score descending', async () => {
    const nova = await scores('p1');
    expect(nova).to.have.length(8);
    expect(nova).to.deep.equal([...nova].sort((a, b) => b - a));
    expect((await ariaSort('p1'))[4]).to.equal('descending');
  });

  it('gives every cell a sort key, and the subject column real ones (the original’s was constant)', async () => {
    const missing = await page.$$eval('tbody tr:has(td.score) td:not([data-sort])', (cells) => cells.length);
    expect(missing).to.equal(0);
    expect(new Set(await column('p1', 1)).size).to.equal(8);
  });

  it('never runs markup from Gerrit text', async () => {
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).to.equal(undefined);
    expect(await page.locator('#p1 td.subject a', { hasText: HOSTILE }).count()).to.equal(1);
    expect(await page.locator('img').count()).to.equal(0);
  });

  it('sorts by a header click, and reverses on the second click', async () => {
    const subject = page.locator('#p1 thead th').nth(1).locator('button');
    await subject.click();
    const ascending = await column('p1', 1);
    const natural = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
    expect(ascending).to.deep.equal([...ascending].sort(natural.compare));
    expect((await ariaSort('p1'))[1]).to.equal('ascending');
    expect((await ariaSort('p1'))[4]).to.equal('none');
    await subject.click();
    expect(await column('p1', 1)).to.deep.equal([...ascending].reverse());
    expect((await ariaSort('p1'))[1]).to.equal('descending');
  });

  it('sorts numerically (score both ways) and from the keyboard', async () => {
    const score = page.locator('#p1 thead th').nth(4).locator('button');
    await score.click();
    const nova = await scores('p1');
    expect(nova).to.deep.equal([...nova].sort((a, b) => b - a));
    await score.click();
    expect(await scores('p1')).to.deep.equal([...nova].sort((a, b) => a - b));
    await page.locator('#p1 thead th').nth(3).locator('button').focus();
    await page.keyboard.press('Enter');
    expect((await ariaSort('p1'))[3]).to.equal('descending');
    const ages = (await column('p1', 3)).map(Number);
    expect(ages).to.deep.equal([...ages].sort((a, b) => b - a));
    // Template column: rows without a job stay last either way.
    const unit = page.locator('#p1 thead th').nth(7).locator('button');
    await unit.click();
    await unit.click();
    const keys = await column('p1', 7);
    expect(keys.slice(keys.findIndex((k) => k === ''))).to.satisfy((rest: string[]) => rest.every((k) => k === ''));
    await score.click();
  });

  it('narrows rows with the filter box (subject, owner, cause)', async () => {
    const filter = page.getByLabel('Filter');
    await filter.fill('alice');
    await filter.press('Enter');
    const visible = await page.locator('tbody tr:not([hidden]) td.score').count();
    expect(visible).to.be.greaterThan(0).and.lessThan(16);
    const owners = await page.$$eval('tbody tr:not([hidden]):has(td.score)', (rows) => rows.map((r) => (r as HTMLTableRowElement).cells[2]!.textContent));
    expect(owners.every((o) => o === 'Alice Adams')).to.equal(true);
    expect(await page.locator('#filter-status').textContent()).to.equal(`${visible} of 16 changes match`);
    expect(await page.locator('#p3').isHidden()).to.equal(true);

    await filter.fill('unknown feature');
    await filter.press('Enter');
    const causes = await page.$$eval('tbody tr:not([hidden]) .cause', (els) => els.map((e) => e.textContent));
    expect(causes).to.have.length(4);
    expect(causes.every((c) => c!.startsWith('Unknown feature'))).to.equal(true);
    await filter.fill('');
    await filter.press('Enter');
    expect(await page.locator('tbody tr:not([hidden]) td.score').count()).to.equal(16);
    expect(await page.locator('#p3').isHidden()).to.equal(false);
  });

  it('shows skipped tests on expand, and the reasons in text for screen readers', async () => {
    const details = page.locator('#p1 details.skipped').first();
    await details.locator('summary').click({ timeout: 5000 });
    expect(await details.locator('li').allTextContents()).to.include('tempest.api.compute.test_live_migration — requires libvirt');
    expect(await page.locator('#p1 tbody tr').first().locator('td').first().locator('.vh').textContent()).to.match(/^: .* \(\+\d+\)/);
    await page.evaluate(() => window.scrollTo(0, 0));
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'reviewday.png'), fullPage: true });
    const darkContext = await browser.newContext({ offline: true, colorScheme: 'dark', viewport: { width: 1400, height: 900 } });
    const dark = await darkContext.newPage();
    await dark.goto(page.url());
    await dark.screenshot({ path: path.join(ARTIFACTS, 'reviewday-dark.png') });
    await darkContext.close();
  });
});
