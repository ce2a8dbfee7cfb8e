import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { TemplateSchema } from '../../src/config/schema.js';
import { UserError } from '../../src/errors.js';
import { applyChanges, formatChangeSpec, parseChangeSpec, planJob, templateSources } from '../../src/pipeline/plan.js';
import { stagesOfStep } from '../../src/pipeline/service.js';

const template = (extra: Record<string, unknown> = {}) =>
  TemplateSchema.parse({
    group: { provider: 'local', hosts: [{ name: 'gw', gateway: true }] },
    builds: [
      { name: 'nova-deb', project: 'openstack/nova', url: 'https://review.example.org/openstack/nova', ref: 'master', mergeTarget: 'master' },
      { name: 'glance', url: 'https://review.example.org/openstack/glance' },
    ],
    puppet: { modules: [{ name: 'nova', project: 'openstack/puppet-nova', url: 'https://review.example.org/openstack/puppet-nova', ref: 'stable' }, { name: 'stdlib', package: 'puppet-module-puppetlabs-stdlib' }] },
    ...extra,
  });

describe('pipeline/plan', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-plan-'));
    fs.mkdirSync(path.join(dir, 'checkout', '.git'), { recursive: true });
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('parses --change as a ref, a local checkout, or URL#REF', () => {
    expect(parseChangeSpec('openstack/nova=refs/changes/45/1045/2')).to.deep.equal({ project: 'openstack/nova', ref: 'refs/changes/45/1045/2' });
    expect(parseChangeSpec('nova=./checkout', dir)).to.deep.equal({ project: 'nova', path: path.join(dir, 'checkout') });
    expect(parseChangeSpec('nova=https://git.example.org/nova#abc123')).to.deep.equal({ project: 'nova', url: 'https://git.example.org/nova', ref: 'abc123' });
    expect(formatChangeSpec({ project: 'nova', url: 'u', ref: 'r' })).to.equal('nova=u#r');
  });

  it('refuses a --change without a project or pointing at no directory', () => {
    expect(() => parseChangeSpec('refs/changes/45/1045/2')).to.throw(UserError, /expected PROJECT=REF/);
    expect(() => parseChangeSpec('nova=./nowhere', dir)).to.throw(UserError, /is not a directory/);
  });

  it('refuses a --change URL with credentials in it, without repeating them', () => {
    let message = '';
    try {
      parseChangeSpec('nova=https://bot:hunter2-pw@git.example.org/nova#abc123');
    } catch (err) {
      expect(err).to.be.instanceOf(UserError);
      message = (err as UserError).line;
    }
    expect(message).to.match(/^--change nova=URL#REF: a URL must not carry credentials/);
    expect(message).to.not.include('hunter2-pw');
  });

  it('lists builds and git Puppet modules as sources, keyed by project', () => {
    expect(templateSources(template()).map((s) => `${s.kind}:${s.project}@${s.ref}`)).to.deep.equal([
      'build:openstack/nova@master',
      'build:glance@master',
      'module:openstack/puppet-nova@stable',
    ]);
  });

  it('puts the test config branches, then each --change, in place of the defaults', () => {
    const sources = applyChanges(templateSources(template()), {
      branches: { 'openstack/nova': { url: 'https://review.example.org/openstack/nova', ref: 'refs/changes/45/1045/2', mergeTarget: 'stable/2024.1' }, other: { url: 'x', ref: 'y' } },
      changes: [{ project: 'openstack/puppet-nova', ref: 'refs/changes/77/1077/1' }],
    });
    expect(sources[0]).to.include({ ref: 'refs/changes/45/1045/2', mergeTarget: 'stable/2024.1', changed: true });
    expect(sources[1]).to.include({ ref: 'master', changed: false });
    expect(sources[2]).to.include({ ref: 'refs/changes/77/1077/1', changed: true });
  });

  it('a custom branch from a fork merges the project’s own trunk; a source the config does not merge is built as it is', () => {
    const sources = applyChanges(templateSources(template()), {
      branches: {
        'openstack/nova': { url: 'https://review.example.org/openstack/nova', ref: 'refs/changes/45/1045/2', origin: 'change' },
        glance: { url: 'https://github.com/alice/glance', ref: 'quota-fix', mergeTarget: 'master', origin: 'custom' },
      },
    });
    // The template merges nova onto master; the config (the change's own source) says not to.
    expect(sources[0]).to.include({ ref: 'refs/changes/45/1045/2', changed: true });
    expect(sources[0]).to.not.have.property('mergeTarget');
    expect(sources[1]).to.include({ url: 'https://github.com/alice/glance', ref: 'quota-fix', mergeTarget: 'master', mergeUrl: 'https://review.example.org/openstack/glance' });
  });

  it('a second --change of a project is merged in after the first, in the order given', () => {
    const [nova] = applyChanges(templateSources(template()), {
      changes: [
        { project: 'openstack/nova', ref: 'refs/changes/45/1045/2' },
        { project: 'openstack/nova', url: 'https://git.example.org/nova', ref: 'abc123' },
        { project: 'openstack/nova', ref: 'refs/changes/46/1046/1' },
      ],
    });
    expect(nova).to.include({ ref: 'refs/changes/45/1045/2', mergeTarget: 'master' });
    expect(nova!.merges).to.deep.equal([
      { name: 'openstack/nova abc123', url: 'https://git.example.org/nova', ref: 'abc123' },
      { name: 'openstack/nova refs/changes/46/1046/1', url: 'https://review.example.org/openstack/nova', ref: 'refs/changes/46/1046/1' },
    ]);
    expect(() => applyChanges(templateSources(template()), { changes: [{ project: 'glance', ref: 'x' }, { project: 'glance', path: '/tmp/glance' }] })).to.throw(UserError, /a second --change of a project is merged in/);
  });

  it('names the known projects when a --change matches none', () => {
    try {
      applyChanges(templateSources(template()), { changes: [{ project: 'neutron', ref: 'x' }], template: 'devstack' });
      expect.fail('expected a UserError');
    } catch (err) {
      expect((err as UserError).line).to.equal('--change "neutron": template devstack builds or fetches no project of that name (projects: openstack/nova, glance, openstack/puppet-nova)');
    }
  });

  it('checks module names, package names and manifest files before anything runs', () => {
    expect(() => planJob('t', template({ puppet: { modules: [{ name: 'Bad-Name', path: '.' }] } }), { baseDir: dir })).to.throw(UserError, /is not a Puppet module name/);
    expect(() => planJob('t', template({ puppet: { modules: [{ name: 'x', package: 'x; rm -rf /' }] } }), { baseDir: dir })).to.throw(UserError, /is not a Debian package name/);
    expect(() => planJob('t', template({ puppet: { manifests: { default: 'site.pp' } } }), { baseDir: dir })).to.throw(UserError, /manifests\.default: manifest file .*site\.pp does not exist/);
    expect(planJob('t', template({ puppet: { manifests: { default: "notify { 'inline': }" } } }), { baseDir: dir }).sources).to.have.length(2);
  });

  it('resolves relative git URLs against the config directory and accepts a template with only a group and a suite', () => {
    const plan = planJob('t', TemplateSchema.parse({ group: { provider: 'local', hosts: [{ name: 'a' }] }, builds: [{ name: 'demo', url: './checkout' }] }), { baseDir: dir });
    expect(plan.sources[0]!.url).to.equal(path.join(dir, 'checkout'));
    const minimal = planJob('m', TemplateSchema.parse({ group: { provider: 'local', hosts: [{ name: 'a' }] }, suites: [{ name: 'uname', command: 'uname -a' }] }), { baseDir: dir });
    expect(minimal.sources).to.deep.equal([]);
  });
});

describe('stagesOfStep', () => {
  it('lists, in pipeline order, the stages a stepwise command goes through', () => {
    expect(stagesOfStep('puppet')).to.deep.equal(['provision', 'prepare', 'configure', 'harvest', 'teardown']);
    expect(stagesOfStep('build')).to.deep.equal(['provision', 'prepare', 'build', 'harvest', 'teardown']);
  });
});
