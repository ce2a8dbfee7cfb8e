import { execFileSync } from 'node:child_process';
import { expect } from 'chai';
import { TemplateRenderer } from '../../src/render/render.js';
import { coveredMs } from '../../src/pipeline/runner.js';

const EVIL = `x'; touch /tmp/pwned; echo '\n$(touch /tmp/pwned)\`id\`;"`;

const samples: Record<string, unknown> = {
  'stage-launch.sh.hbs': { workspace: `/w/${EVIL}`, name: 'build', env: { GREETING: EVIL } },
  'stage-stop.sh.hbs': { workspace: `/w/${EVIL}` },
  'stage-prepare.sh.hbs': { workspace: '/w', jobId: EVIL, hostName: EVIL },
  'stage-build.sh.hbs': {
    workspace: '/w',
    builds: [
      { index: 0, name: EVIL, ref: EVIL, method: 'dpkg', command: EVIL, subdir: EVIL, checkout: EVIL, merging: 'yes' },
      { index: 1, name: 'b', ref: 'r', method: 'command', command: 'make', subdir: '', checkout: 'true', merging: '' },
      { index: 2, name: EVIL, ref: 'r', method: 'rpm', command: '', subdir: EVIL, checkout: EVIL, merging: '' },
    ],
  },
  'source-checkout.sh.hbs': { key: 'build:0', url: EVIL, ref: EVIL, merges: [{ name: EVIL, url: EVIL, ref: EVIL }], mergeTarget: EVIL, mergeUrl: EVIL },
  'stage-repo-publish.sh.hbs': { workspace: '/w' },
  'stage-repo-client.sh.hbs': { workspace: '/w', repoPath: EVIL },
  'stage-repo-publish-rpm.sh.hbs': { workspace: `/w/${EVIL}` },
  'stage-repo-client-rpm.sh.hbs': { workspace: `/w/${EVIL}`, repoPath: EVIL },
  'stage-configure.sh.hbs': { workspace: '/w', gitModules: [{ dir: 'nova', checkout: EVIL }], packages: ['puppet-module-keystone'], modulepath: [EVIL], manifest: 'manifests/gw.pp', noop: false, idempotence: true, facts: [{ name: 'FACTER_smokestack_database', value: EVIL }] },
  'stage-test.sh.hbs': { workspace: '/w', suites: [{ index: 0, name: EVIL, command: 'true', results: EVIL, timeoutSeconds: 30 }], env: [{ name: 'SMOKESTACK_AXIS_DATABASE', value: EVIL }] },
  'stage-harvest.sh.hbs': { workspace: '/w', paths: [EVIL, '/var/log/*.log'] },
};

describe('pipeline stage templates', () => {
  const renderer = new TemplateRenderer();
  for (const [name, data] of Object.entries(samples)) {
    it(`${name} renders with hostile values into valid sh`, () => {
      const script = renderer.render(name, data);
      execFileSync('/bin/sh', ['-n'], { input: script });
    });
  }

  it('measures the wall time covered by remote commands, overlaps counted once', () => {
    expect(coveredMs([[0, 10], [5, 20], [30, 40], [35, 36]])).to.equal(30);
    expect(coveredMs([])).to.equal(0);
  });
});
