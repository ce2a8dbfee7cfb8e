import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import YAML from 'yaml';
import { StateStore, applySyncPlan, bellowsSettings, loadConfigFile, planSync, type Change, type ConfigView } from '@smokestack/core';
import { runCli } from '@smokestack/testkit';

describe('bellows configs show, set and reset', () => {
  let dir: string;
  let env: Record<string, string>;

  const change = (patchSet: number): Change => ({
    project: 'openstack/nova',
    branch: 'master',
    number: 1045,
    changeId: 'I1045',
    subject: 'Fix libvirt snapshot',
    owner: { name: 'Alice' },
    status: 'NEW',
    wip: false,
    currentPatchSet: { number: patchSet, revision: String(patchSet).repeat(40), ref: `refs/changes/45/1045/${patchSet}` },
    approvals: [],
  });

  /** What a sync of the change at this patch set does to the store. */
  const sync = async (patchSet: number) => {
    const settings = bellowsSettings(loadConfigFile(path.join(dir, 'smokestack.yaml')));
    await new StateStore(path.join(dir, 'state.json')).update((s) => {
      applySyncPlan(s, planSync(s, [change(patchSet)], { targets: settings.projects, policies: settings.templates }, new Date()), new Date());
    });
  };

  const bellows = async (...args: string[]) => runCli('bellows', args, { env });

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-bellows-configs-'));
    env = { SMOKESTACK_CONFIG: path.join(dir, 'smokestack.yaml'), SMOKESTACK_STATE: path.join(dir, 'state.json'), XDG_CONFIG_HOME: path.join(dir, 'xdg'), HOME: dir };
    const config = {
      gerrit: { url: 'https://review.example.org' },
      projects: [{ name: 'openstack/nova', templates: ['nova-smoke'], sources: { 'openstack/puppet-nova': { ref: 'stable/next' } } }],
      templates: {
        'nova-smoke': {
          builds: [
            { name: 'nova', project: 'openstack/nova', url: 'https://review.example.org/openstack/nova' },
            { name: 'glance', project: 'openstack/glance', url: 'https://review.example.org/openstack/glance' },
          ],
          puppet: { modules: [{ name: 'nova', project: 'openstack/puppet-nova', url: 'https://review.example.org/openstack/puppet-nova' }] },
          suites: [{ name: 'smoke', command: 'true' }],
        },
      },
    };
    fs.writeFileSync(path.join(dir, 'smokestack.yaml'), YAML.stringify(config));
    await sync(1);
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('show lists every source with its URL, ref, merge with trunk and origin', async () => {
    const shown = await bellows('configs', 'show', '1045', '--json');
    expect(shown.code).to.equal(0);
    expect(shown.json<ConfigView>().sources.map((s) => [s.project, s.ref, s.mergeTrunk, s.from])).to.deep.equal([
      ['openstack/nova', 'refs/changes/45/1045/1', 'master', 'change'],
      ['openstack/glance', 'master', null, 'template'],
      ['openstack/puppet-nova', 'stable/next', null, 'project'],
    ]);
    const human = await bellows('configs', 'show', 'openstack/nova~1045', '--no-color');
    expect(human.stdout).to.match(/^openstack\/nova~1045: Alice: Fix libvirt snapshot \(patch set 1, 111111111111\)/);
    expect(human.stdout).to.match(/openstack\/glance .*build glance .*https:\/\/review.example.org\/openstack\/glance .*master .*no .*template/);
  });

  it('set customises a source; it survives a new patch set, which moves only the change’s own ref; reset drops it', async () => {
    const set = await bellows('configs', 'set', '1045', '--source', 'openstack/glance=https://git.example.org/alice/glance#quota-fix', '--merge-trunk', '--json');
    expect(set.code, set.stderr).to.equal(0);
    const glance = () => set.json<ConfigView>().sources.find((s) => s.project === 'openstack/glance');
    expect(glance()).to.deep.include({ url: 'https://git.example.org/alice/glance', ref: 'quota-fix', mergeTrunk: 'master', from: 'custom' });

    const own = await bellows('configs', 'set', '1045', '--source', 'openstack/nova', '--no-merge-trunk', '--json');
    expect(own.json<ConfigView>().sources[0]).to.deep.include({ project: 'openstack/nova', mergeTrunk: null, from: 'change' });

    await sync(2);
    const after = (await bellows('configs', 'show', '1045', '--json')).json<ConfigView>();
    expect(after.config.patchSet).to.equal(2);
    expect(after.sources.map((s) => [s.project, s.ref, s.mergeTrunk, s.from])).to.deep.equal([
      ['openstack/nova', 'refs/changes/45/1045/2', null, 'change'],
      ['openstack/glance', 'quota-fix', 'master', 'custom'],
      ['openstack/puppet-nova', 'stable/next', null, 'project'],
    ]);

    const reset = await bellows('configs', 'reset', '1045', '--source', 'openstack/glance', '--json');
    expect(reset.json<ConfigView>().sources.map((s) => s.from)).to.deep.equal(['change', 'template', 'project']);
    expect(reset.json<ConfigView>().sources[0]!.mergeTrunk).to.equal(null);
    const all = await bellows('configs', 'reset', '1045', '--json');
    expect(all.json<ConfigView>().sources[0]!.mergeTrunk).to.equal('master');
    expect(all.json<ConfigView>().config).to.not.have.property('custom');
  });

  it('refuses what cannot be tested in one line, exit 1, leaving the config as it was', async () => {
    const before = fs.readFileSync(path.join(dir, 'state.json'), 'utf8');
    const cases: Array<[string[], RegExp]> = [
      [['configs', 'set', '1045', '--source', 'openstack/neutron=master'], /no template of openstack\/nova~1045 \(nova-smoke\) builds or fetches openstack\/neutron/],
      [['configs', 'set', '1045', '--source', 'openstack/nova=refs/heads/x'], /openstack\/nova is the change's own source/],
      [['configs', 'set', '1045', '--source', 'openstack/glance=../glance'], /not a local path/],
      [['configs', 'set', '9999', '--source', 'openstack/glance=x'], /test config 9999: not found/],
      [['configs', 'reset', '1045', '--source', 'openstack/glance'], /has no source of openstack\/glance set by hand/],
    ];
    for (const [args, message] of cases) {
      const r = await bellows(...args);
      expect(r.code, args.join(' ')).to.equal(1);
      expect(r.stderr.trim().split('\n'), args.join(' ')).to.have.length(1);
      expect(r.stderr, args.join(' ')).to.match(message);
    }
    expect(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')).to.equal(before);
  });
});
