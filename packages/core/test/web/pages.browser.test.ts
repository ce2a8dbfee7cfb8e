/// <reference lib="dom" />
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { writeJobPage } from '../../src/web/job-pages.js';
import { writeStatusPage } from '../../src/web/status-page.js';
import { statusData } from '../../src/web/status.js';
import { noteActivity } from '../../src/bellows/activity.js';
import { axeViolations, launchOfflineChromium, type OfflineChromium } from '../review/chromium.js';
import { FAILING, NOW, REQUIRED, TEST_LOG_LINES, failedJob, job, putJobs, scratchStore, writeJobFiles, type Scratch } from './fixtures.js';

const WIDTHS = [1400, 400];

async function noSidewaysScroll(page: Page): Promise<void> {
  const { scroll, width } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
  expect(scroll, 'page width').to.be.at.most(width);
}

describe('web pages in Chromium (network blocked)', function () {
  this.timeout(120_000);
  let scratch: Scratch;
  let web: { dir: string };
  let chromium: OfflineChromium;
  let jobPage: string;
  let statusPage: string;

  before(async () => {
    scratch = scratchStore();
    web = { dir: path.join(scratch.dir, 'web') };
    const failed = failedJob('j7');
    const running = job('j8', { template: 'unit', status: 'running', finishedAt: undefined, worker: 'ci2:77', heartbeatAt: '2026-11-22T09:59:30.000Z' });
    const queued = job('j9', { template: 'tempest', status: 'queued', startedAt: undefined, finishedAt: undefined, createdAt: '2026-11-22T09:40:00.000Z' });
    await putJobs(scratch.store, [failed, running, queued]);
    writeJobFiles(scratch.store, 'j7');
    const written = await writeJobPage(failed, { store: scratch.store, web, now: () => NOW, gerritUrl: 'https://review.example.org' });
    jobPage = written.file;
    await scratch.store.update((state) => {
      noteActivity(state, 'sync', { ok: true, summary: '1 project branch(es) swept: 0 created, 1 updated' }, new Date('2026-11-22T09:58:00Z'));
      noteActivity(state, 'stream', { ok: false, summary: 'disconnected: connection refused; reconnecting', since: '2026-11-22T09:50:00.000Z' }, new Date('2026-11-22T09:59:00Z'));
      noteActivity(state, 'comment', { ok: true, summary: '1 posted, 0 recovered, 0 skipped, 0 waiting' }, new Date('2026-11-22T09:57:00Z'));
    });
    const status = statusData({ state: await scratch.store.read(), now: NOW, staleMs: 60_000 });
    statusPage = (await writeStatusPage(status, web)).file;
    chromium = await launchOfflineChromium();
  });

  after(async () => {
    await chromium?.close();
    scratch?.remove();
  });

  for (const width of WIDTHS) {
    it(`the job page at ${width} px says whose fault it is, shows the failure with its message, the required test that did not run, sources and reproduce, with no axe-core violations`, async () => {
      const page = await chromium.context.newPage();
      await page.setViewportSize({ width, height: 900 });
      await page.goto(pathToFileURL(jobPage).href);
      expect(await page.locator('h1').innerText()).to.equal('tempest on openstack/nova 1234,5');
      expect(await page.locator('.whose').innerText()).to.equal("The change's fault: 1 test failed.");
      const failures = page.locator('ul.tests li', { hasText: FAILING });
      expect(await failures.locator('pre').innerText()).to.contain('TimeoutException: server did not reboot <img');
      expect(await page.locator('ul.tests li', { hasText: REQUIRED }).innerText()).to.contain('required');
      expect(await page.locator('.sources').innerText()).to.contain('a'.repeat(40));
      expect(await page.locator('pre.cmd').innerText()).to.match(/^firestack run --template tempest --change/);
      expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).to.equal(undefined);
      await noSidewaysScroll(page);
      expect(await axeViolations(page)).to.deep.equal([]);
      await page.close();
    });

    it(`the status page at ${width} px lists running and queued jobs by pool with their age and worker, the workers, and the last sync, stream and comment run, with no axe-core violations`, async () => {
      const page = await chromium.context.newPage();
      await page.setViewportSize({ width, height: 900 });
      await page.goto(pathToFileURL(statusPage).href);
      const body = await page.locator('main').innerText();
      expect(body).to.contain('j8').and.contain('ci2:77').and.contain('j9').and.contain('20m 0s');
      expect(body).to.match(/Gerrit event stream[\s\S]*disconnected/);
      expect(body).to.match(/Gerrit sync[\s\S]*ok/);
      await page.locator('a', { hasText: 'j8' }).first().waitFor();
      await noSidewaysScroll(page);
      expect(await axeViolations(page)).to.deep.equal([]);
      await page.close();
    });
  }

  it('a log line anchor opens the log at that line, marked, loading only the part that holds it', async () => {
    const page = await chromium.context.newPage();
    await page.goto(`${pathToFileURL(path.join(path.dirname(jobPage), 'log', 'test.html')).href}#L3456`);
    const line = page.locator('#L3456');
    await line.waitFor();
    expect(await line.getAttribute('class')).to.contain('hl');
    expect(await line.locator('.t').innerText()).to.equal('line 3456: <img src=x onerror="window.__pwned=1"> reboot timed out');
    expect(await line.isVisible()).to.equal(true);
    expect(await page.locator('#L1').count(), 'the first part is not loaded').to.equal(0);
    expect(await page.locator('#L4000').count()).to.equal(1);
    expect(await page.locator('#log-status').innerText()).to.equal(`Lines 2001–4000 of ${TEST_LOG_LINES} shown.`);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).to.equal(undefined);
    expect(await axeViolations(page)).to.deep.equal([]);
    await page.close();
  });

  it('following a line number in the failing stage\'s tail on the job page lands on that line of the log', async () => {
    const page = await chromium.context.newPage();
    await page.goto(pathToFileURL(jobPage).href);
    const last = page.locator('pre.tail a.ln').last();
    expect(await last.innerText()).to.equal(String(TEST_LOG_LINES));
    await last.click();
    await page.waitForURL(/log\/test\.html#L5200$/);
    const line = page.locator(`#L${TEST_LOG_LINES}`);
    await line.waitFor();
    expect(await line.getAttribute('class')).to.contain('hl');
    expect(await line.locator('.t').innerText()).to.equal(`line ${TEST_LOG_LINES}: ok`);
    await page.close();
  });

  it('the raw logs stay downloadable beside the page, and the job\'s plan is never published', async () => {
    const dir = path.dirname(jobPage);
    expect(fs.readFileSync(path.join(dir, 'raw', 'logs', 'test.log'), 'utf8').split('\n')).to.have.length(TEST_LOG_LINES + 1);
    expect(fs.existsSync(path.join(dir, 'raw', 'hosts', 'ctl', 'var', 'log', 'nova-compute.log'))).to.equal(true);
    expect(fs.existsSync(path.join(dir, 'raw', 'plan.json'))).to.equal(false);
    const html = fs.readFileSync(jobPage, 'utf8');
    expect(html).to.contain('href="raw/logs/test.log" download');
    expect(chromium.external).to.deep.equal([]);
  });
});
