import { expect } from 'chai';
import { buildReport, reportJson, reportJsonPieces } from '../../src/review/index.js';
import { NOW, makeChange, makeJob, vote } from './fixtures.js';

/** A report of two projects with results, skips, votes, a change without URL and text that needs escaping. */
function sampleReport() {
  const nova = [
    makeChange(11, { topic: 'bug/1', days: 2, subject: 'Fix "quotes" and \\ backslashes\u2028' }),
    makeChange(12, { days: 9, approvals: [vote('Code-Review', 2, 'carol'), vote('Verified', -1, 'smokestack')] }),
    makeChange(13, { url: undefined, subject: '<script>alert(1)</script>' }),
  ];
  const glance = [makeChange(21, { project: 'openstack/glance', topic: 'bp/cells' })];
  const jobs = {
    '1': makeJob('1', nova[0]!, { skipped: [{ id: 'test_live_migration', reason: 'requires libvirt' }], summary: { tests: 10, failures: 0, errors: 0, skipped: 1, durationMs: 5 } }),
    '2': makeJob('2', nova[0]!, { template: 'unit', status: 'test_failed', failedTests: ['unit.test_a'] }),
    '3': makeJob('3', glance[0]!, { message: 'configure: puppet apply failed' }),
  };
  return buildReport({
    projects: [
      { name: 'openstack/nova', branch: 'master', launchpad: 'nova', templates: ['tempest', 'unit'] },
      { name: 'openstack/glance', branch: 'master', launchpad: 'glance', templates: [] },
    ],
    changes: new Map([
      ['openstack/nova', nova],
      ['openstack/glance', glance],
    ]),
    priorities: { bugs: new Map(), blueprints: new Map() },
    jobs,
    now: NOW,
    warnings: ['Launchpad: one warning'],
  });
}

describe('review/report: reviewday.json written in pieces', () => {
  it('is the same text as the whole document, however many changes a piece holds', () => {
    const report = sampleReport();
    const whole = JSON.stringify(reportJson(report));
    for (const rowsPerPiece of [1, 2, 3, 1000]) {
      const pieces = [...reportJsonPieces(report, rowsPerPiece)];
      expect(pieces.join(''), `${rowsPerPiece} per piece`).to.equal(whole);
    }
    // One change per piece: no piece holds more than one change's text.
    expect([...reportJsonPieces(report, 1)].length).to.be.greaterThan(report.sections.reduce((n, s) => n + s.rows.length, 0));
  });

  it('is the same text for an empty report and for a project without open changes', () => {
    const empty = buildReport({
      projects: [{ name: 'openstack/swift', branch: 'master', launchpad: 'swift', templates: [] }],
      changes: new Map(),
      priorities: { bugs: new Map(), blueprints: new Map() },
      jobs: {},
      now: NOW,
    });
    expect([...reportJsonPieces(empty)].join('')).to.equal(JSON.stringify(reportJson(empty)));
    const none = { ...empty, sections: [] };
    expect([...reportJsonPieces(none)].join('')).to.equal(JSON.stringify(reportJson(none)));
  });

  it('keeps a key seen twice in a project once, in its first place with its last change, as the object does', () => {
    const report = sampleReport();
    const nova = report.sections[0]!;
    const twin = { ...nova.rows[2]!, key: nova.rows[0]!.key, subject: 'the later twin' };
    const withTwin = { ...report, sections: [{ ...nova, rows: [...nova.rows, twin] }, ...report.sections.slice(1)] };
    const text = [...reportJsonPieces(withTwin, 1)].join('');
    expect(text).to.equal(JSON.stringify(reportJson(withTwin)));
    const parsed = JSON.parse(text);
    expect(Object.keys(parsed.projects['openstack/nova'])).to.have.length(nova.rows.length);
    expect(parsed.projects['openstack/nova'][nova.rows[0]!.key].subject).to.equal('the later twin');
  });
});

describe('review/report: each change\'s results', () => {
  it('are in the reader\'s order of template names: letters of either case together, a name before its combinations', () => {
    const change = makeChange(31);
    const names = ['Zeta', 'unit', 'tempest [database=postgresql]', 'alpha', 'tempest', 'tempest [database=mysql]'];
    const jobs = Object.fromEntries(
      names.map((name, i) => {
        const [template, axis] = name.split(' [');
        const configuration = axis ? Object.fromEntries([axis.slice(0, -1).split('=') as [string, string]]) : undefined;
        return [String(i + 1), makeJob(String(i + 1), change, { template: template!, ...(configuration ? { configuration } : {}) })];
      }),
    );
    const report = buildReport({
      projects: [{ name: 'openstack/nova', branch: 'master', launchpad: 'nova', templates: [] }],
      changes: new Map([['openstack/nova', [change]]]),
      priorities: { bugs: new Map(), blueprints: new Map() },
      jobs,
      now: NOW,
    });
    expect(Object.keys(report.sections[0]!.rows[0]!.results)).to.deep.equal(['alpha', 'tempest', 'tempest [database=mysql]', 'tempest [database=postgresql]', 'unit', 'Zeta']);
  });
});
