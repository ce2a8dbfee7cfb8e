/// <reference lib="dom" />
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { StateStore } from '../../src/store/store.js';
import type { Change, JobStatus } from '../../src/model.js';
import { generateReport, type ChangeSource } from '../../src/review/index.js';
import { PAGE_SIZE } from '../../src/review/render.js';
import { NOW, makeChange, makeJob, vote } from './fixtures.js';
import { axeViolations, launchOfflineChromium, type OfflineChromium } from './chromium.js';

const HOSTILE = '<img src=x onerror="window.__pwned=1">';
const ARTIFACTS = path.resolve(import.meta.dirname, '..', '..', '..', '..', 'test-artifacts');
const FAILING = [
  'tempest.api.compute.servers.test_server_actions.ServerActionsTestJSON.test_reboot_server_hard',
  'tempest.api.network.test_ports.PortsTestJSON.test_create_port_in_allowed_allocation_pools',
];
const REQUIRED = 'nova.tests.test_libvirt_spawn';
const BUILD_MESSAGE = 'build: dpkg-buildpackage failed for nova (exit 2)';
const LONG_SUBJECT = 'Make the placement candidates filter respect anti-affinity across every configured cell';
const STATUSES: JobStatus[] = ['success', 'test_failed', 'build_failed', 'infra_failed', 'running'];

function fixtureChanges(): Change[] {
  const owners = ['Alice Adams', 'Bob Brown', 'Carol Chen', 'Dan Drake'];
  const topics = [undefined, 'bug/1', 'bp/cells', 'bug/2'];
  const changes: Change[] = [];
  for (const [p, project] of ['openstack/nova', 'openstack/glance'].entries()) {
    for (let i = 0; i < 8; i++) {
      const number = 1000 + p * 100 + i;
      const subject = p === 0 && i === 3 ? HOSTILE : p === 0 && i === 5 ? LONG_SUBJECT : `${['Fix', 'Add', 'Remove', 'Refactor'][i % 4]} ${project.split('/')[1]} thing ${i}`;
      changes.push(
        makeChange(number, {
          project,
          url: `https://review.example.org/c/${project}/+/${number}`,
          subject,
          owner: { name: owners[(i + p) % 4], username: `u${i}` },
          topic: topics[i % 4],
          days: (i * 7) % 11,
          approvals: i % 3 === 0 ? [vote('Code-Review', -1, 'bob'), vote('Verified', 1, 'smokestack')] : i % 3 === 1 ? [vote('Code-Review', 2, 'carol')] : [],
        }),
      );
    }
  }
  // Enough changes in one project to need more than one page.
  for (let i = 0; i < 120; i++) {
    changes.push(makeChange(3000 + i, { project: 'openstack/cinder', url: `https://review.example.org/c/openstack/cinder/+/${3000 + i}`, subject: `Cinder change ${i}`, owner: { name: 'Erin Evans' }, days: i % 60 }));
  }
  return changes;
}

/** Rows whose results carry a failure (test or build): nova 1, 2, 6, 7 and glance 3, 4. */
const FAILED_ROWS = 6;

describe('review/render in Chromium (network blocked)', function () {
  this.timeout(60_000);
  let dir: string;
  let chromium: OfflineChromium;
  let page: Page;
  let url: string;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-browser-'));
    fs.mkdirSync(path.join(dir, 'state'));
    const store = new StateStore(path.join(dir, 'state', 'state.json'));
    const changes = fixtureChanges();
    await store.update((state) => {
      changes.slice(0, 16).forEach((change, i) => {
        const status = STATUSES[i % STATUSES.length]!;
        state.jobs[`j${i}`] = makeJob(`j${i}`, change, {
          status,
          summary: { tests: status === 'build_failed' ? 0 : 200 + i, failures: status === 'test_failed' ? 2 : 0, errors: 0, skipped: i % 2 ? 3 : 0, durationMs: 1 },
          skipped: i % 2 ? [{ id: 'tempest.api.compute.test_live_migration', reason: 'requires libvirt' }, { id: 'tempest.api.volume.test_attach' }, { id: HOSTILE }] : [],
          failedTests: status === 'test_failed' ? FAILING : [],
          message: status === 'build_failed' ? BUILD_MESSAGE : status === 'test_failed' ? `2 failing test(s): ${FAILING.join(', ')}` : '',
        });
        if (i % 3 === 0) state.jobs[`u${i}`] = makeJob(`u${i}`, change, { template: 'unit' });
      });
      // A job whose required test was skipped: incomplete, the required test apart from the ordinary skip.
      state.jobs.r1 = makeJob('r1', changes[1]!, {
        template: 'unit',
        status: 'incomplete',
        summary: { tests: 30, failures: 0, errors: 0, skipped: 2, durationMs: 1 },
        skipped: [{ id: REQUIRED, reason: 'libvirt not available' }, { id: 'nova.tests.test_xen', reason: 'no xen' }],
        requiredSkipped: [{ id: REQUIRED, pattern: '*libvirt*', reason: 'libvirt not available', template: 'unit' }],
        message: `1 required test(s) did not run: ${REQUIRED} (libvirt not available)`,
      });
    });
    const source: ChangeSource = { openChanges: async (project) => changes.filter((c) => c.project === project) };
    await generateReport({
      projects: [
        { name: 'openstack/nova', branch: 'master', launchpad: 'nova', templates: ['tempest', 'unit'] },
        { name: 'openstack/glance', branch: 'master', launchpad: 'glance', templates: ['tempest'] },
        { name: 'openstack/swift', branch: 'master', launchpad: 'swift', templates: [] },
        { name: 'openstack/cinder', branch: 'master', launchpad: 'cinder', templates: ['unit'] },
      ],
      changes: source,
      store,
      outDir: path.join(dir, 'out'),
      now: NOW,
      botUsernames: ['smokestack'],
      title: 'Review priorities',
    });
    chromium = await launchOfflineChromium();
    page = await chromium.context.newPage();
    url = pathToFileURL(path.join(dir, 'out', 'index.html')).href;
    await page.goto(url);
  });

  after(async () => {
    await chromium?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const scores = (section: string) => page.$$eval(`#${section} tbody tr:not([hidden]) td.score`, (tds) => tds.map((td) => Number(td.textContent)));
  const column = (section: string, index: number) =>
    page.$$eval(`#${section} tbody tr`, (rows, i) => rows.map((r) => (r as HTMLTableRowElement).cells[i]!.getAttribute('data-sort') ?? 'MISSING'),
      index,
    );
  const ariaSort = (section: string) => page.$$eval(`#${section} thead th`, (ths) => ths.map((th) => th.getAttribute('aria-sort')));
  const filterBy = async (text: string) => {
    const filter = page.getByLabel('Filter');
    await filter.fill(text);
    await filter.press('Enter');
  };
  const shownRows = () => page.locator('tbody tr:not([hidden]):has(td.score)');

  it('loads with the network blocked, needing nothing from outside', async () => {
    expect(await page.title()).to.equal('Review priorities');
    expect(await page.locator('main section').count()).to.equal(4);
    expect(await page.locator('#p3 td.empty').textContent()).to.equal('No open changes.');
    expect(chromium.external).to.deep.equal([]);
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

  it('states the generation time once, in the page header, not in every project', async () => {
    expect(await page.locator('time').count()).to.equal(1);
    expect((await page.locator('body').innerText()).match(/generated/gi)).to.have.length(1);
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
    await filterBy('alice');
    const visible = await shownRows().count();
    expect(visible).to.be.greaterThan(0).and.lessThan(16);
    const owners = await page.$$eval('tbody tr:not([hidden]):has(td.score)', (rows) => rows.map((r) => (r as HTMLTableRowElement).cells[2]!.textContent));
    expect(owners.every((o) => o === 'Alice Adams')).to.equal(true);
    expect(await page.locator('#filter-status').textContent()).to.equal(`${visible} of 136 changes match`);
    expect(await page.locator('#p3').isHidden()).to.equal(true);

    await filterBy('unknown feature');
    const causes = await page.$$eval('tbody tr:not([hidden]) .cause', (els) => els.map((e) => e.textContent));
    expect(causes).to.have.length(4);
    expect(causes.every((c) => c!.startsWith('Unknown feature'))).to.equal(true);
    await filterBy('');
    expect(await page.locator('#filter-status').textContent()).to.equal('136 changes');
    expect(await page.locator('#p3').isHidden()).to.equal(false);
  });

  it('filters on results and test names: "failed" and a failing test’s name find their changes', async () => {
    await filterBy('failed');
    expect(await shownRows().count()).to.equal(FAILED_ROWS);
    const cells = await page.$$eval('tbody tr:not([hidden]):has(td.score)', (rows) => rows.map((r) => [...r.querySelectorAll('td.result')].map((td) => (td as HTMLElement).innerText).join(' | ')));
    expect(cells.every((text) => /failed/.test(text))).to.equal(true);

    await filterBy('test_reboot_server_hard');
    expect(await shownRows().count()).to.equal(3);
    expect(await page.locator('#filter-status').textContent()).to.equal('3 of 136 changes match');
    await filterBy('');
  });

  it('shows the failing tests in the results cell, not only in a tooltip', async () => {
    const cell = page.locator('#p1 td.result', { hasText: 'test_reboot_server_hard' }).first();
    expect(await cell.isVisible()).to.equal(true);
    const text = await cell.innerText();
    for (const name of FAILING) expect(text).to.include(name);
    expect(text).to.match(/failed/);
  });

  it('says what broke in a build failure instead of "0 tests, 0 failed, 0 skipped"', async () => {
    const cell = page.locator('#p1 td.result', { hasText: 'build failed' }).first();
    expect(await cell.innerText()).to.include(BUILD_MESSAGE);
    expect(await page.locator('main').innerText()).to.not.match(/\b0 tests\b|\b0 failed\b|\b0 skipped\b/);
  });

  it('pages through a long project, keeping its sort order, and the filter reaches every page', async () => {
    const pageOf = (text: string) => page.locator('#p4').getByText(text);
    // Drawn as it comes into view.
    await page.locator('#p4 h2').scrollIntoViewIfNeeded();
    await page.locator('#p4 tbody tr').nth(PAGE_SIZE - 1).waitFor({ timeout: 20_000 });
    expect(await page.locator('#p4 tbody tr').count()).to.equal(PAGE_SIZE);
    expect(await pageOf(`1–${PAGE_SIZE} of 120`).isVisible()).to.equal(true);
    const first = await scores('p4');
    await page.locator('#p4').getByRole('button', { name: 'Next page' }).click();
    expect(await pageOf(`${PAGE_SIZE + 1}–${2 * PAGE_SIZE} of 120`).isVisible()).to.equal(true);
    const second = await scores('p4');
    expect(second).to.have.length(PAGE_SIZE);
    expect(Math.max(...second)).to.be.at.most(Math.min(...first));
    await filterBy('cinder change 117');
    expect(await shownRows().count()).to.equal(1);
    expect(await page.locator('#p4 td.subject').innerText()).to.include('Cinder change 117');
    await filterBy('');
    expect(await pageOf(`1–${PAGE_SIZE} of 120`).isVisible()).to.equal(true);
  });

  it('shows skipped tests on expand, and the reasons in text for screen readers', async () => {
    const details = page.locator('#p1 details.skipped').first();
    await details.locator('summary').click({ timeout: 20_000 });
    expect(await details.locator('li').allTextContents()).to.include('tempest.api.compute.test_live_migration — requires libvirt');
    expect(await page.locator('#p1 tbody tr').first().locator('td').first().locator('.vh').textContent()).to.match(/^: .* \(\+\d+\)/);
    // A results link names its template and job to a screen reader, its visible words first.
    const link = page.locator('#p1 tbody tr').first().locator('td.result a').first();
    expect(await link.innerText()).to.equal('logs & results');
    expect(await page.locator('#p1').getByRole('link', { name: /^logs & results of \S+ job \S+$/ }).first().isVisible()).to.equal(true);
  });

  it('shows an incomplete job’s required tests that did not run open, apart from its ordinary skips, and finds it by "required"', async () => {
    const cell = page.locator('#p1 td.result', { hasText: 'incomplete' });
    expect(await cell.count()).to.equal(1);
    const required = cell.locator('.required-skipped');
    expect(await required.isVisible()).to.equal(true);
    expect(await required.innerText()).to.equal(`required, did not run:\n${REQUIRED} — skipped: libvirt not available — required by template unit`);
    expect(await cell.locator('details.skipped summary').innerText()).to.equal('1 skipped');
    await cell.locator('details.skipped summary').click();
    expect(await cell.locator('details.skipped li').allTextContents()).to.deep.equal(['nova.tests.test_xen — no xen']);
    await filterBy('required');
    expect(await shownRows().count()).to.equal(1);
    await filterBy('');
  });

  for (const width of [1400, 400]) {
    for (const scheme of ['light', 'dark'] as const) {
      it(`at ${width} px in ${scheme}: score, feedback and results on screen without scrolling sideways, subjects whole, no axe-core violations`, async () => {
        const view = await chromium.context.newPage();
        try {
          await view.setViewportSize({ width, height: 900 });
          await view.emulateMedia({ colorScheme: scheme });
          await view.goto(url);
          const layout = await view.evaluate(() => {
            const row = document.querySelector('#p1 tbody tr') as HTMLTableRowElement;
            const box = (el: Element | null) => {
              const r = el!.getBoundingClientRect();
              return { left: r.left, right: r.right, width: r.width, height: r.height };
            };
            const long = [...document.querySelectorAll('#p1 td.subject a')].find((a) => a.textContent!.startsWith('Make the placement'))!;
            // A word split over two lines has two client rects.
            const text = long.firstChild as Text;
            const split: string[] = [];
            for (const match of text.data.matchAll(/\S+/g)) {
              const range = document.createRange();
              range.setStart(text, match.index!);
              range.setEnd(text, match.index! + match[0].length);
              if ([...range.getClientRects()].filter((r) => r.width > 0).length > 1) split.push(match[0]);
            }
            const bg = getComputedStyle(document.body).backgroundColor.match(/\d+/g)!.slice(0, 3).map(Number);
            return {
              viewport: window.innerWidth,
              scrollWidth: document.documentElement.scrollWidth,
              score: box(row.querySelector('td.score')),
              feedback: box(row.querySelector('td.fb')),
              results: [...row.querySelectorAll('td.result')].map(box),
              subject: box(long.closest('td')),
              split,
              luminance: (0.2126 * bg[0]! + 0.7152 * bg[1]! + 0.0722 * bg[2]!) / 255,
            };
          });
          expect(layout.scrollWidth, 'page width').to.be.at.most(layout.viewport);
          for (const [name, cell] of [['score', layout.score], ['feedback', layout.feedback], ['subject', layout.subject], ...layout.results.map((r, i) => [`result ${i}`, r] as const)] as const) {
            expect(cell.width, `${name} width`).to.be.greaterThan(0);
            expect(cell.left, `${name} left edge`).to.be.at.least(0);
            expect(cell.right, `${name} right edge`).to.be.at.most(layout.viewport);
          }
          expect(layout.results).to.have.length(2);
          expect(layout.split, 'words broken across lines').to.deep.equal([]);
          if (scheme === 'dark') expect(layout.luminance).to.be.below(0.2);
          else expect(layout.luminance).to.be.above(0.8);
          expect(await view.getByText('test_reboot_server_hard').first().isVisible()).to.equal(true);
          fs.mkdirSync(ARTIFACTS, { recursive: true });
          await view.screenshot({ path: path.join(ARTIFACTS, `reviewday-${width}-${scheme}.png`) });
          await view.locator('#p1 details.skipped').first().locator('summary').click();
          expect(await axeViolations(view)).to.deep.equal([]);
        } finally {
          await view.close();
        }
      });
    }
  }
});
