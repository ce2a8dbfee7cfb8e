import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { TemplateSchema, planJob, writeJobBundle, type ServerGroup } from '@smokestack/core';
import { checkoutItem } from '../../src/pipeline/source-checkout.js';

describe('job bundle: sources shipped to hosts that reach nothing beyond their group', () => {
  let dir: string;
  let repo: string;
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=T', '-c', 'user.email=t@example.org', ...args], { cwd: repo, encoding: 'utf8' }).trim();
  const group: ServerGroup = { name: 'g', provider: 'container', hosts: [], createdAt: '2026-01-01T00:00:00.000Z', state: 'ready' };
  const plan = (url: string) => planJob('t', TemplateSchema.parse({ builds: [{ name: 'app', url, ref: 'master', mergeTarget: 'stable' }] }), { baseDir: dir });

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-bundle-'));
    repo = path.join(dir, 'app');
    fs.mkdirSync(repo);
    git('init', '-q', '-b', 'stable');
    fs.writeFileSync(path.join(repo, 'a'), '1\n');
    git('add', 'a');
    git('commit', '-qm', 'one');
    git('checkout', '-q', '-b', 'master');
    fs.writeFileSync(path.join(repo, 'a'), '2\n');
    git('commit', '-qam', 'two');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('fetches the source and its merge target here into a bundle whose HEAD is the ref under test', async () => {
    const layout = await writeJobBundle(plan(repo), group, path.join(dir, 'bundle'), { shipRemoteSources: true });
    expect(layout.shippedRefs['build:0']).to.deep.equal({
      ref: 'HEAD',
      mergeTarget: 'refs/smokestack/merge-target',
      merges: [],
      // What the checkout will be made of, known before any host runs it (the key of a build's reuse).
      revisions: { revision: git('rev-parse', 'master'), mergeTargetRevision: git('rev-parse', 'stable'), mergedRevisions: [] },
    });
    const listed = execFileSync('git', ['ls-remote', path.join(layout.dir, layout.sourceBundles['build:0']!)], { encoding: 'utf8' });
    expect(listed).to.contain(`${git('rev-parse', 'master')}\tHEAD`);
    expect(listed).to.contain(`${git('rev-parse', 'stable')}\trefs/smokestack/merge-target`);
  });

  it('records the commit an annotated tag names, as the checkout on the host will print it', async () => {
    git('tag', '-a', 'v1', '-m', 'release 1', 'master');
    const planned = planJob('t', TemplateSchema.parse({ builds: [{ name: 'app', url: repo, ref: 'refs/tags/v1' }] }), { baseDir: dir });
    const layout = await writeJobBundle(planned, group, path.join(dir, 'bundle'), { shipRemoteSources: true });
    expect(git('rev-parse', 'v1')).to.not.equal(git('rev-parse', 'master'));
    expect(layout.shippedRefs['build:0']!.revisions).to.deep.equal({ revision: git('rev-parse', 'master'), mergedRevisions: [] });
  });

  it('ships the Depends-On changes merged into a source, from their own repositories, and checks them out from the bundle', async () => {
    const other = path.join(dir, 'dependency');
    execFileSync('git', ['clone', '-q', repo, other]);
    execFileSync('git', ['-c', 'user.name=T', '-c', 'user.email=t@example.org', 'commit', '-q', '--allow-empty', '-m', 'dependency'], { cwd: other });
    const dependency = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: other, encoding: 'utf8' }).trim();
    const planned = plan(repo);
    planned.sources[0]!.merges = [{ name: 'app change 7,1', url: other, ref: 'master' }];
    const layout = await writeJobBundle(planned, group, path.join(dir, 'bundle'), { shipRemoteSources: true });
    expect(layout.shippedRefs['build:0']!.merges).to.deep.equal(['refs/smokestack/depends-on-0']);
    expect(layout.shippedRefs['build:0']!.revisions).to.deep.equal({ revision: git('rev-parse', 'master'), mergeTargetRevision: git('rev-parse', 'stable'), mergedRevisions: [dependency] });
    const listed = execFileSync('git', ['ls-remote', path.join(layout.dir, layout.sourceBundles['build:0']!)], { encoding: 'utf8' });
    expect(listed).to.contain(`${dependency}\trefs/smokestack/depends-on-0`);
    const item = checkoutItem(planned.sources[0]!, layout, '/w');
    expect(item.url).to.equal(`/w/bundle/${layout.sourceBundles['build:0']}`);
    expect(item.merges).to.deep.equal([{ name: 'app change 7,1', url: item.url, ref: 'refs/smokestack/depends-on-0' }]);
    expect([item.ref, item.mergeTarget, item.mergeUrl]).to.deep.equal(['HEAD', 'refs/smokestack/merge-target', item.url]);
  });

  it('leaves sources alone for hosts that fetch themselves, and one it cannot fetch to the host (which names it)', async () => {
    expect((await writeJobBundle(plan(repo), group, path.join(dir, 'b1'))).sourceBundles).to.deep.equal({});
    const missing = await writeJobBundle(plan(path.join(dir, 'nowhere')), group, path.join(dir, 'b2'), { shipRemoteSources: true });
    expect(missing.sourceBundles).to.deep.equal({});
    expect(missing.shippedRefs).to.deep.equal({});
  });
});
