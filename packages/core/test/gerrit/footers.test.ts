import { expect } from 'chai';
import { dependsOnFooters, parseDependencyRef } from '../../src/gerrit/footers.js';

const ID = 'I0123456789abcdef0123456789abcdef01234567';

describe('gerrit/footers: Depends-On', () => {
  it('reads every Depends-On line of a commit message, in order, each once, whatever its case', () => {
    const message = [
      'Use the new quota API',
      '',
      'A body that mentions Depends-On: somewhere in a line is not a footer.',
      '',
      `Depends-On: ${ID}`,
      'depends-on: https://review.example.org/c/openstack/glance/+/12345  ',
      `Depends-On: ${ID}`,
      `Change-Id: I${'f'.repeat(40)}`,
      '',
    ].join('\n');
    expect(dependsOnFooters(message)).to.deep.equal([ID, 'https://review.example.org/c/openstack/glance/+/12345']);
    expect(dependsOnFooters('Subject\n\nChange-Id: I1\n')).to.deep.equal([]);
  });

  it('names a change of this Gerrit by its URL (new and old UIs, a site under a path) or its Change-Id', () => {
    const gerrit = 'https://review.example.org';
    expect(parseDependencyRef('https://review.example.org/c/openstack/glance/+/12345', gerrit)).to.deep.equal({ kind: 'number', project: 'openstack/glance', number: 12345 });
    expect(parseDependencyRef('https://review.example.org/c/openstack/glance/+/12345/3', gerrit)).to.deep.equal({ kind: 'number', project: 'openstack/glance', number: 12345 });
    expect(parseDependencyRef('https://review.example.org/#/c/12345/', gerrit)).to.deep.equal({ kind: 'number', number: 12345 });
    expect(parseDependencyRef('https://review.example.org/12345', gerrit)).to.deep.equal({ kind: 'number', number: 12345 });
    expect(parseDependencyRef('https://example.org/gerrit/c/a%2Fb/+/7', 'https://example.org/gerrit/')).to.deep.equal({ kind: 'number', project: 'a/b', number: 7 });
    expect(parseDependencyRef(ID, gerrit)).to.deep.equal({ kind: 'changeId', changeId: ID });
  });

  it('leaves changes of other servers alone and calls anything else unusable', () => {
    const gerrit = 'https://review.example.org';
    expect(parseDependencyRef('https://github.com/org/repo/pull/4', gerrit)).to.deep.equal({ kind: 'foreign', text: 'https://github.com/org/repo/pull/4' });
    expect(parseDependencyRef('the glance change', gerrit)).to.deep.equal({ kind: 'invalid', text: 'the glance change' });
    expect(parseDependencyRef('https://review.example.org/dashboard/self', gerrit)).to.deep.equal({ kind: 'invalid', text: 'https://review.example.org/dashboard/self' });
    expect(parseDependencyRef('I123', gerrit).kind).to.equal('invalid');
  });
});
