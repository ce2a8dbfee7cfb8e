import { expect } from 'chai';
import { malformedChange } from '../../src/bellows/check-change.js';
import { change } from './fixtures.js';

describe('bellows/check-change malformedChange', () => {
  it('trusts a well-formed change, open or closed', () => {
    expect(malformedChange(change(1234, 7))).to.equal(undefined);
    expect(malformedChange(change(5, 1, { project: 'openstack/nova', status: 'MERGED' }))).to.equal(undefined);
  });

  it('refuses change numbers Gerrit cannot have', () => {
    for (const number of [0, -3, 2 ** 31, 2 ** 60, 1.5]) {
      expect(malformedChange(change(1, 1, { number })), String(number)).to.equal(`change number ${number} is out of range`);
    }
  });

  it('refuses project names that would escape a path or become an option', () => {
    for (const project of ['..', 'nova/../../etc', '/etc/passwd', '-nova', 'nova//x', './nova', 'no\u001bva', 'a\\b']) {
      expect(malformedChange(change(1, 1, { project })), JSON.stringify(project)).to.match(/^project name ".*" /);
    }
    expect(malformedChange(change(1, 1, { project: 'openstack/nova.specs' }))).to.equal(undefined);
  });

  it('refuses an open change without a current patch set, with a patch set out of range, or with a ref that is not its own', () => {
    expect(malformedChange(change(1, 1, { currentPatchSet: { number: 0, revision: '', ref: '' } }))).to.equal("no current patch set in Gerrit's answer");
    expect(malformedChange(change(1, 1, { currentPatchSet: { number: 2 ** 31, revision: 'abc', ref: 'refs/changes/01/1/2147483648' } }))).to.equal('patch set number 2147483648 is out of range');
    for (const ref of ['refs/heads/master', 'refs/changes/01/1/2', 'refs/changes/1/1/1', 'refs/changes/01/1/1/../../heads/x', '--upload-pack=evil']) {
      expect(malformedChange(change(1, 1, { currentPatchSet: { number: 1, revision: 'abc', ref } })), ref).to.equal(`ref ${JSON.stringify(ref)} of patch set 1 is not refs/changes/01/1/1`);
    }
    // A closed change is only purged: its patch set does not matter.
    expect(malformedChange(change(1, 1, { status: 'ABANDONED', currentPatchSet: { number: 0, revision: '', ref: '' } }))).to.equal(undefined);
  });
});
