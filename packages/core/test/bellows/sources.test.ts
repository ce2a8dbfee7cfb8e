import { expect } from 'chai';
import { describeSources, editCustomSources, effectiveBranches, parseSourceSpec } from '../../src/bellows/sources.js';
import { applySyncPlan, planSync } from '../../src/bellows/sync.js';
import { UserError } from '../../src/errors.js';
import type { ProjectTarget } from '../../src/bellows/settings.js';
import type { SourcePlan } from '../../src/pipeline/plan.js';
import path from 'node:path';
import { loadConfigFile, resolveTemplate } from '../../src/config/load.js';
import { bellowsSettings } from '../../src/bellows/settings.js';
import { templateSources } from '../../src/pipeline/plan.js';
import { EXAMPLES } from '../pipeline/helpers.js';
import { NOW, POLICIES, change, state } from './fixtures.js';

const NOVA: ProjectTarget = {
  name: 'nova',
  branch: 'master',
  templates: ['smoke'],
  url: 'https://git.example.org/nova',
  mergeTrunk: true,
  sources: { 'puppet-nova': { url: 'https://git.example.org/puppet-nova', ref: 'stable/next', mergeTrunk: true } },
};
const TEMPLATE: SourcePlan[] = [
  { kind: 'build', index: 0, name: 'nova', project: 'nova', url: 'https://git.example.org/nova', ref: 'master', changed: false },
  { kind: 'build', index: 1, name: 'glance', project: 'glance', url: 'https://git.example.org/glance', ref: 'master', changed: false },
  { kind: 'module', index: 0, name: 'nova', project: 'puppet-nova', url: 'https://git.example.org/puppet-nova', ref: 'master', changed: false },
];
const basis = { project: 'nova', branch: 'master', ref: 'refs/changes/01/1/1' };

describe('bellows/sources: a test configuration’s branches', () => {
  it('start from the project’s defaults and the change’s own patch set, merged with trunk as configured', () => {
    expect(effectiveBranches(basis, NOVA)).to.deep.equal({
      'puppet-nova': { url: 'https://git.example.org/puppet-nova', ref: 'stable/next', mergeTarget: 'master', origin: 'project' },
      nova: { url: 'https://git.example.org/nova', ref: 'refs/changes/01/1/1', mergeTarget: 'master', origin: 'change' },
    });
    expect(effectiveBranches(basis, { ...NOVA, mergeTrunk: false, sources: {} })).to.deep.equal({
      nova: { url: 'https://git.example.org/nova', ref: 'refs/changes/01/1/1', origin: 'change' },
    });
  });

  it('sources set by hand go over both; on the change’s own project only the merge flag', () => {
    const branches = effectiveBranches(basis, NOVA, {
      glance: { url: 'https://github.com/alice/glance', ref: 'quota-fix', mergeTrunk: true },
      'puppet-nova': { url: 'https://git.example.org/puppet-nova', ref: 'refs/changes/77/77/3' },
      nova: { mergeTrunk: false },
    });
    expect(branches.glance).to.deep.equal({ url: 'https://github.com/alice/glance', ref: 'quota-fix', mergeTarget: 'master', origin: 'custom' });
    // No flag given: the merge setting it had stays.
    expect(branches['puppet-nova']).to.deep.equal({ url: 'https://git.example.org/puppet-nova', ref: 'refs/changes/77/77/3', mergeTarget: 'master', origin: 'custom' });
    expect(branches.nova).to.deep.equal({ url: 'https://git.example.org/nova', ref: 'refs/changes/01/1/1', origin: 'change' });
  });

  it('a source set by hand survives later syncs; a new patch set moves only the change’s own ref', () => {
    const s = state();
    const targets = [NOVA];
    applySyncPlan(s, planSync(s, [change(1)], { targets, policies: POLICIES }, NOW), NOW);
    s.configs['nova~1']!.custom = { glance: { url: 'https://github.com/alice/glance', ref: 'quota-fix' } };
    applySyncPlan(s, planSync(s, [change(1, 2)], { targets, policies: POLICIES }, NOW), NOW);
    const config = s.configs['nova~1']!;
    expect(config.custom).to.deep.equal({ glance: { url: 'https://github.com/alice/glance', ref: 'quota-fix' } });
    expect(config.branches.glance).to.deep.include({ ref: 'quota-fix', origin: 'custom' });
    expect(config.branches.nova).to.deep.include({ ref: 'refs/changes/01/1/2', origin: 'change' });
  });

  it('reads --source as PROJECT=URL#REF, PROJECT=REF or PROJECT alone, and refuses local paths', () => {
    expect(parseSourceSpec('glance=https://github.com/alice/glance#quota-fix')).to.deep.equal({ project: 'glance', url: 'https://github.com/alice/glance', ref: 'quota-fix' });
    expect(parseSourceSpec('glance=refs/changes/45/45/2')).to.deep.equal({ project: 'glance', ref: 'refs/changes/45/45/2' });
    expect(parseSourceSpec('glance')).to.deep.equal({ project: 'glance' });
    expect(parseSourceSpec('glance=file:///srv/git/glance#main')).to.deep.equal({ project: 'glance', url: 'file:///srv/git/glance', ref: 'main' });
    expect(() => parseSourceSpec('glance=./checkout')).to.throw(UserError, /not a local path/);
    expect(() => parseSourceSpec('=x')).to.throw(UserError, /expected PROJECT=URL#REF/);
  });

  it('refuses a source URL carrying credentials, which the store, scripts and logs would keep', () => {
    expect(() => parseSourceSpec('glance=https://alice:s3cret@git.example.org/glance#quota-fix')).to.throw(UserError, /^--source glance=URL#REF: a URL must not carry credentials/);
    expect(parseSourceSpec('glance=ssh://alice@git.example.org/glance#quota-fix')).to.deep.include({ url: 'ssh://alice@git.example.org/glance' });
  });

  it('a hand-set source must be a project a template of the config builds or fetches', () => {
    const config = { id: 'nova~1', project: 'nova', templates: ['smoke'], branches: effectiveBranches(basis, NOVA) };
    const edit = (spec: string, mergeTrunk?: boolean) => editCustomSources(config, TEMPLATE, { specs: [parseSourceSpec(spec)], ...(mergeTrunk === undefined ? {} : { mergeTrunk }) });
    expect(() => edit('neutron=master')).to.throw(UserError, /no template of nova~1 \(smoke\) builds or fetches neutron/);
    expect(() => edit('nova=refs/heads/other')).to.throw(UserError, /nova is the change's own source/);
    expect(() => edit('glance')).to.throw(UserError, /--source glance: nothing to set/);
    // A ref alone keeps the URL it had (the template's); a merge flag alone pins the source it applies to.
    expect(edit('glance=quota-fix', true)).to.deep.equal({ glance: { url: 'https://git.example.org/glance', ref: 'quota-fix', mergeTrunk: true } });
    expect(edit('glance', true)).to.deep.equal({ glance: { url: 'https://git.example.org/glance', ref: 'master', mergeTrunk: true } });
    expect(edit('nova', false)).to.deep.equal({ nova: { mergeTrunk: false } });
  });

  it('lists every source of the config’s templates with where its branch comes from', () => {
    const branches = effectiveBranches(basis, NOVA, { glance: { url: 'https://github.com/alice/glance', ref: 'quota-fix', mergeTrunk: false } });
    expect(describeSources({ branches }, { smoke: TEMPLATE })).to.deep.equal([
      { project: 'nova', uses: ['build nova'], url: 'https://git.example.org/nova', ref: 'refs/changes/01/1/1', merges: [], mergeTrunk: 'master', from: 'change' },
      { project: 'glance', uses: ['build glance'], url: 'https://github.com/alice/glance', ref: 'quota-fix', merges: [], mergeTrunk: null, from: 'custom' },
      { project: 'puppet-nova', uses: ['module nova'], url: 'https://git.example.org/puppet-nova', ref: 'stable/next', merges: [], mergeTrunk: 'master', from: 'project' },
    ]);
    expect(describeSources({ branches: effectiveBranches(basis, { ...NOVA, sources: {} }) }, { smoke: TEMPLATE })[2]).to.deep.include({ project: 'puppet-nova', ref: 'master', from: 'template' });
  });

  it('examples/smokestack.yaml: a demoapp change’s configuration takes the module from its custom branch, merged with trunk', () => {
    const loaded = loadConfigFile(path.join(EXAMPLES, 'smokestack.yaml'));
    const settings = bellowsSettings(loaded);
    const s = state();
    const demo = change(7, 1, { project: 'demo/demoapp' });
    applySyncPlan(s, planSync(s, [demo], { targets: settings.projects, policies: settings.templates }, NOW), NOW);
    const config = s.configs['demo/demoapp~7']!;
    const rows = describeSources(config, { 'demo-review': templateSources(resolveTemplate(loaded, 'demo-review')) });
    expect(rows.map((r) => [r.project, r.url, r.ref, r.mergeTrunk, r.from])).to.deep.equal([
      ['demo/demoapp', 'https://review.example.org/demo/demoapp', 'refs/changes/07/7/1', 'master', 'change'],
      ['demo/demoapp-puppet', 'https://review.example.org/demo/demoapp-puppet', 'feature/colour', 'master', 'project'],
    ]);
  });
});
