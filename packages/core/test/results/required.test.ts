import { expect } from 'chai';
import { describeRequiredSkip, requiredTestsNotRun } from '../../src/results/required.js';
import type { TestCaseResult } from '../../src/results/types.js';

const cases = (...list: Array<[string, TestCaseResult['outcome'], string?]>): TestCaseResult[] =>
  list.map(([id, outcome, message]) => ({ id, outcome, durationMs: 1, ...(message ? { message } : {}) }));

describe('results/required', () => {
  it('a required test that was skipped is named with its skip reason and the template', () => {
    const found = requiredTestsNotRun('nova-libvirt', ['*test_libvirt*'], cases(['nova.test_boot', 'passed'], ['nova.test_libvirt', 'skipped', 'libvirt not available']));
    expect(found).to.deep.equal([{ id: 'nova.test_libvirt', pattern: '*test_libvirt*', reason: 'libvirt not available', template: 'nova-libvirt' }]);
    expect(describeRequiredSkip(found[0]!)).to.equal('skipped: libvirt not available — required by template nova-libvirt');
  });

  it('a required test that ran (passed or failed) is met', () => {
    expect(requiredTestsNotRun('t', ['nova.test_libvirt'], cases(['nova.test_libvirt', 'passed']))).to.deep.equal([]);
    expect(requiredTestsNotRun('t', ['nova.test_libvirt'], cases(['nova.test_libvirt', 'failed']))).to.deep.equal([]);
    expect(requiredTestsNotRun('t', [], cases(['nova.test_libvirt', 'skipped']))).to.deep.equal([]);
  });

  it('a pattern no test matched is absent', () => {
    const found = requiredTestsNotRun('t', ['nova.test_libvirt'], cases(['nova.test_boot', 'passed']));
    expect(found).to.deep.equal([{ id: 'nova.test_libvirt', pattern: 'nova.test_libvirt', reason: 'absent: no test matched', template: 't' }]);
    expect(describeRequiredSkip(found[0]!)).to.equal('absent: no test matched — required by template t');
  });

  it('every skipped test a pattern names is listed once, even when several patterns name it', () => {
    const found = requiredTestsNotRun('t', ['nova.virt.*', '*test_b'], cases(['nova.virt.test_a', 'passed'], ['nova.virt.test_b', 'skipped'], ['nova.virt.test_c', 'skipped', ' no kvm ']));
    expect(found.map((f) => [f.id, f.reason])).to.deep.equal([
      ['nova.virt.test_b', 'skipped without a reason'],
      ['nova.virt.test_c', 'no kvm'],
    ]);
  });
});
