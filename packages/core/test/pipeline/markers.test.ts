import { expect } from 'chai';
import { changedResources, firstPuppetError, markerValue, parseMarkers, sectionBetween } from '../../src/pipeline/markers.js';

const SECOND_APPLY = `::smokestack:: puppet-begin 1
Notice: /Stage[main]/Main/Exec[ignored-first-run]/returns: executed successfully
::smokestack:: puppet-end 1 2
::smokestack:: puppet-begin 2
Error: Facter: Permission denied @ rb_sysopen - /proc/1/environ
Notice: Compiled catalog for web1 in environment production in 0.09 seconds
Notice: /Stage[main]/Main/Exec[regenerate-demoapp-cache]/returns: executed successfully
Notice: /Stage[main]/Demoapp/File[/etc/demoapp/demoapp.conf]/content: content changed '{sha256}aa' to '{sha256}bb'
Notice: /Stage[main]/Demoapp/File[/etc/demoapp/demoapp.conf]/mode: mode changed '0600' to '0644'
Notice: /Stage[main]/Demoapp/Exec[demoapp-check]: Triggered 'refresh' from 1 event
Notice: /Stage[main]/Main/Notify[msg]/message: defined 'message' as 'a]/b: c'
Notice: Class[Keystone::Deps]: Would have triggered 'refresh' from 4 events
Notice: Applied catalog in 0.07 seconds
::smokestack:: puppet-end 2 2`;

describe('pipeline/markers', () => {
  it('reads the runner markers a stage script prints, first one winning', () => {
    const markers = parseMarkers('x\n::smokestack:: revision 0 abc\n::smokestack:: revision 0 forged\n::smokestack:: workspace /w/j1\n');
    expect(markerValue(markers, 'revision', 0)).to.deep.equal(['abc']);
    expect(markerValue(markers, 'workspace')).to.deep.equal(['/w/j1']);
    expect(markerValue(markers, 'revision', 1)).to.equal(undefined);
  });

  it('names each resource the second Puppet apply changed, once', () => {
    const changed = changedResources(sectionBetween(SECOND_APPLY, 'puppet', 2));
    expect(changed.map((c) => c.resource)).to.deep.equal([
      'Exec[regenerate-demoapp-cache]',
      'File[/etc/demoapp/demoapp.conf]',
      'Exec[demoapp-check]',
      'Notify[msg]',
    ]);
    expect(changed[1]).to.deep.equal({ resource: 'File[/etc/demoapp/demoapp.conf]', path: '/Stage[main]/Demoapp/File[/etc/demoapp/demoapp.conf]', property: 'content' });
  });

  it("picks Puppet's first real error, skipping Facter's noise", () => {
    expect(firstPuppetError('Error: Facter: Permission denied\nError: Could not find class ::nope for web1\nError: later')).to.equal('Error: Could not find class ::nope for web1');
  });
});
