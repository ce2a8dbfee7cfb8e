import { expect } from 'chai';
import { matchesTestId, quarantineEntryFor } from '../../src/results/patterns.js';

describe('results/patterns', () => {
  it('a pattern names whole test ids: * any run of characters, ? one character', () => {
    expect(matchesTestId('nova.tests.test_libvirt', 'nova.tests.test_libvirt')).to.equal(true);
    expect(matchesTestId('nova.tests.test_libvirt', 'nova.tests.test_libvirt_extra')).to.equal(false);
    expect(matchesTestId('*test_libvirt*', 'nova.tests.test_libvirt_extra')).to.equal(true);
    expect(matchesTestId('nova.tests.virt.*', 'nova.tests.virt.libvirt.test_driver.Test.test_spawn')).to.equal(true);
    expect(matchesTestId('nova.tests.test_?', 'nova.tests.test_a')).to.equal(true);
    expect(matchesTestId('nova.tests.test_?', 'nova.tests.test_ab')).to.equal(false);
  });

  it('dots, brackets and other regex characters are themselves', () => {
    expect(matchesTestId('a.b', 'aXb')).to.equal(false);
    expect(matchesTestId('t.test_x[id-1,smoke]', 't.test_x[id-1,smoke]')).to.equal(true);
    expect(matchesTestId('(x)+', '(x)+')).to.equal(true);
    expect(matchesTestId('host1:*', 'host1:demo.test_a')).to.equal(true);
  });

  it('a quarantine entry applies on its templates only, or on every template', () => {
    const entries = [
      { test: '*test_slow', reason: 'times out under load', owner: 'bob', templates: ['full'] },
      { test: 'nova.test_racy', reason: 'races', owner: 'carol' },
    ];
    expect(quarantineEntryFor(entries, 'full', 'nova.test_slow')?.owner).to.equal('bob');
    expect(quarantineEntryFor(entries, 'smoke', 'nova.test_slow')).to.equal(undefined);
    expect(quarantineEntryFor(entries, 'smoke', 'nova.test_racy')?.owner).to.equal('carol');
    expect(quarantineEntryFor(entries, 'smoke', 'nova.test_ok')).to.equal(undefined);
  });
});
