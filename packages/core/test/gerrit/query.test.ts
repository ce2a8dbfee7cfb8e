import { expect } from 'chai';
import { buildQuery, openChangesQuery, searchValue, updatedChangesQuery } from '../../src/gerrit/query.js';

describe('gerrit/query', () => {
  it('asks for the open changes of one project branch', () => {
    expect(openChangesQuery('openstack/nova', 'master')).to.equal('status:open project:openstack/nova branch:master');
  });

  it('sweeps incrementally with after: in Gerrit time, open and closed alike', () => {
    expect(updatedChangesQuery('nova', 'stable/2026.1', new Date('2026-11-20T10:00:00.900Z'))).to.equal('project:nova branch:stable/2026.1 after:{2026-11-20 10:00:00}');
  });

  it('groups change numbers and closed statuses in parentheses', () => {
    expect(buildQuery({ status: 'closed', numbers: [1, 2] })).to.equal('(status:merged OR status:abandoned) (change:1 OR change:2)');
    expect(buildQuery({ numbers: [7] })).to.equal('change:7');
  });

  it('quotes values that are not plain words', () => {
    expect(searchValue('my project')).to.equal('{my project}');
    expect(searchValue('a{b}"c')).to.equal('"a{b}\\"c"');
    expect(searchValue('stable/2026.1')).to.equal('stable/2026.1');
  });
});
