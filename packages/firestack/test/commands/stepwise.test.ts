import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import YAML from 'yaml';
import type { PipelineResult } from '@smokestack/core';
import { CliWorkspace } from './helpers.js';

describe('firestack build, repo, puppet, test on an existing group', function () {
  this.timeout(120_000);
  let ws: CliWorkspace;
  let marker: string;
  before(() => {
    ws = new CliWorkspace({});
    marker = path.join(ws.dir, 'configured-by-puppet');
    fs.writeFileSync(
      ws.env.SMOKESTACK_CONFIG!,
      YAML.stringify({
        templates: {
          dev: {
            builds: [{ name: 'demoapp', url: './demoapp', ref: 'master' }],
            puppet: { manifests: { default: `file { '${marker}': ensure => file, content => "configured\\n" }` } },
            suites: [{ name: 'repo-visible', command: "apt-cache policy demoapp | grep 'Candidate: 1.0+ss'" }],
          },
        },
      }),
    );
    fs.writeFileSync(path.join(ws.dir, 'dev.yaml'), YAML.stringify({ provider: 'local', hosts: [{ name: 'solo' }] }));
  });
  after(() => ws.cleanup());

  it('runs one stage at a time, sharing the group workspace between steps, and never deletes the group', async () => {
    const created = await ws.firestack(['group', 'create', 'dev.yaml', '--name', 'dev']);
    expect(created.code, created.stderr).to.equal(0);
    const step = async (name: string) => {
      const r = await ws.firestack([name, '--group', 'dev', '--template', 'dev', '--json']);
      expect(r.code, `${name}: ${r.stderr}`).to.equal(0);
      return r.json<{ result: PipelineResult }>().result;
    };
    const build = await step('build');
    expect(build.stages.map((s) => s.stage)).to.deep.equal(['provision', 'prepare', 'build', 'harvest', 'teardown']);
    expect(build.sources[0]!.revision).to.equal(ws.head);
    await step('repo');
    const puppet = await step('puppet');
    expect(puppet.stages.find((s) => s.stage === 'configure')!.message).to.match(/idempotent/);
    expect(fs.readFileSync(marker, 'utf8')).to.equal('configured\n');
    const test = await step('test');
    expect(test).to.include({ status: 'success' });
    expect(test.summary).to.include({ tests: 1, failures: 0 });
    expect(test.stages.find((s) => s.stage === 'teardown')!.message).to.match(/existing server group dev left as it is/);
    const list = await ws.firestack(['group', 'list', '--json']);
    expect(list.json<{ groups: Array<{ name: string; state: string }> }>().groups.map((g) => `${g.name}:${g.state}`)).to.deep.equal(['dev:ready']);
    expect((await ws.firestack(['group', 'delete', 'dev'])).code).to.equal(0);
  });

  it('refuses a group that does not exist, in one line', async () => {
    const r = await ws.firestack(['test', '--group', 'nope', '--template', 'dev']);
    expect(r.code).to.equal(1);
    expect(r.stderr.trim()).to.match(/^firestack: error: no server group named "nope"/);
  });
});
