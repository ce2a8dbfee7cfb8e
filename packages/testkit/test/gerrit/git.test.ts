import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { execa } from 'execa';
import { GerritSim } from '../../src/index.js';
import { rest } from './helpers.js';

describe('GerritSim git', () => {
  let sim: GerritSim;
  let work: string;

  beforeEach(async () => {
    sim = await GerritSim.start({ git: true });
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'gerrit-sim-git-'));
    await execa('git', ['init', '--quiet', work]);
  });
  afterEach(async () => {
    await sim.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  const git = async (...args: string[]): Promise<string> => (await execa('git', args, { cwd: work })).stdout.trim();

  it('stores every patch set as a real commit on the branch tip at refs/changes/NN/N/P', async () => {
    sim.createProject('openstack/nova', { files: { 'README.rst': 'nova\n' } });
    const change = sim.createChange({ project: 'openstack/nova', subject: 'Add feature', files: { 'nova/feature.py': 'print("v1")\n' } });
    const ps2 = sim.uploadPatchSet(change.number, { files: { 'nova/feature.py': 'print("v2")\n' } });

    await git('fetch', '--quiet', sim.gitUrl('openstack/nova'), 'refs/changes/01/1/2');
    expect(await git('rev-parse', 'FETCH_HEAD')).to.equal(ps2.revision);
    expect(await git('show', 'FETCH_HEAD:nova/feature.py')).to.equal('print("v2")');
    expect(await git('show', 'FETCH_HEAD:README.rst')).to.equal('nova');
    expect(await git('log', '-1', '--format=%B', 'FETCH_HEAD')).to.contain(`Change-Id: ${change.changeId}`);
    const tip = (await git('ls-remote', sim.gitUrl('openstack/nova'), 'refs/heads/master')).split('\t')[0];
    expect(await git('rev-parse', 'FETCH_HEAD^')).to.equal(tip);

    await git('fetch', '--quiet', sim.gitUrl('openstack/nova'), 'refs/changes/01/1/1');
    expect(await git('rev-parse', 'FETCH_HEAD')).to.equal(change.patchSets[0]!.revision);
  });

  it('writes each patch set’s commit message with its footers, Change-Id joining them; a new patch set keeps it unless given another', async () => {
    const lib = sim.createChange({ project: 'demo/lib', subject: 'Add an API' });
    const app = sim.createChange({ project: 'demo/app', subject: 'Use the API', message: `Callers move to the new API.\n\nDepends-On: ${lib.changeId}\nDepends-On: ${sim.httpUrl}/c/demo/lib/+/${lib.number}` });
    await git('fetch', '--quiet', sim.gitUrl('demo/app'), 'refs/changes/02/2/1');
    expect(await git('log', '-1', '--format=%B', 'FETCH_HEAD')).to.equal(
      `Use the API\n\nCallers move to the new API.\n\nDepends-On: ${lib.changeId}\nDepends-On: ${sim.httpUrl}/c/demo/lib/+/1\nChange-Id: ${app.changeId}`,
    );
    const [info] = (await rest(sim, '/a/changes/?q=change:2&o=CURRENT_REVISION&o=CURRENT_COMMIT')).json;
    expect(info.revisions[info.current_revision].commit.message).to.equal(`${await git('log', '-1', '--format=%B', 'FETCH_HEAD')}\n`);
    sim.uploadPatchSet(app.number);
    await git('fetch', '--quiet', sim.gitUrl('demo/app'), 'refs/changes/02/2/2');
    expect(await git('log', '-1', '--format=%B', 'FETCH_HEAD')).to.contain(`Depends-On: ${lib.changeId}`);
    sim.uploadPatchSet(app.number, { message: 'No dependency any more.' });
    await git('fetch', '--quiet', sim.gitUrl('demo/app'), 'refs/changes/02/2/3');
    expect(await git('log', '-1', '--format=%B', 'FETCH_HEAD')).to.equal(`Use the API\n\nNo dependency any more.\n\nChange-Id: ${app.changeId}`);
  });

  it('keeps executable files executable (scripts, debian/rules)', async () => {
    sim.createProject('demo/app', { files: { 'debian/rules': { content: '#!/usr/bin/make -f\n', executable: true }, 'README': 'app\n' } });
    sim.createChange({ project: 'demo/app', subject: 'Add a test', files: { 'tests/run.sh': { content: '#!/bin/sh\n', executable: true } } });
    await git('fetch', '--quiet', sim.gitUrl('demo/app'), 'refs/changes/01/1/1');
    const tree = await git('ls-tree', '-r', 'FETCH_HEAD');
    expect(tree).to.match(/^100755 blob \w+\tdebian\/rules$/m);
    expect(tree).to.match(/^100755 blob \w+\ttests\/run\.sh$/m);
    expect(tree).to.match(/^100644 blob \w+\tREADME$/m);
  });

  it('points RevisionInfo.fetch at URLs that git can fetch (file and anonymous http)', async () => {
    const change = sim.createChange({ project: 'demo/app', subject: 'Change' });
    const [info] = (await rest(sim, '/a/changes/?q=change:1&o=CURRENT_REVISION')).json;
    const fetch = info.revisions[info.current_revision].fetch;
    expect(fetch.file.url).to.equal(sim.gitUrl('demo/app'));
    for (const scheme of ['file', 'anonymous http']) {
      await git('fetch', '--quiet', fetch[scheme].url, fetch[scheme].ref);
      expect(await git('rev-parse', 'FETCH_HEAD'), scheme).to.equal(change.patchSets[0]!.revision);
    }
  });

  it('advances the branch on merge, rebasing a patch set whose parent is no longer the tip', async () => {
    const first = sim.createChange({ project: 'demo', subject: 'First' });
    const second = sim.createChange({ project: 'demo', subject: 'Second' });
    sim.merge(first.number);
    const afterFirst = (await git('ls-remote', sim.gitUrl('demo'), 'refs/heads/master')).split('\t')[0];
    expect(afterFirst).to.equal(first.patchSets[0]!.revision);
    sim.merge(second.number);
    const afterSecond = (await git('ls-remote', sim.gitUrl('demo'), 'refs/heads/master')).split('\t')[0]!;
    await git('fetch', '--quiet', sim.gitUrl('demo'), 'refs/heads/master');
    expect(await git('rev-parse', 'FETCH_HEAD^')).to.equal(afterFirst);
    expect(await git('ls-tree', '--name-only', '-r', afterSecond)).to.contain('changes/2.txt');
  });
});
