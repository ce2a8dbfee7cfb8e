import { expect } from 'chai';
import { compileQuery, parseAge, parseQuery, parseQueryDate, QueryError } from '../../src/gerrit/query.js';
import type { SimChange } from '../../src/gerrit/types.js';

function change(number: number, fields: Partial<SimChange> = {}): SimChange {
  const at = new Date('2026-11-20T10:00:00Z');
  return {
    number, project: 'demo', branch: 'master', changeId: `I${String(number).padStart(40, '0')}`, subject: `change ${number}`, owner: 'alice',
    status: 'NEW', wip: false, created: at, updated: at, messages: [], approvals: [],
    patchSets: [{ number: 1, revision: 'a'.repeat(40), ref: `refs/changes/0${number}/${number}/1`, created: at, uploader: 'alice', kind: 'REWORK', parent: 'b'.repeat(40), files: {} }],
    ...fields,
  };
}

function matches(query: string, changes: SimChange[], self?: string): number[] {
  const compiled = compileQuery(query, {
    now: new Date('2026-11-20T12:00:00Z'),
    self,
    account: () => undefined,
    changesOfProject: (p) => changes.filter((c) => c.project === p),
    change: (n) => changes.find((c) => c.number === n),
  });
  return changes.filter((c) => compiled.match(c)).map((c) => c.number);
}

describe('Gerrit query language', () => {
  it('parses OR, implicit AND, negation and parentheses with AND binding tighter than OR', () => {
    expect(parseQuery('a:1 b:2 OR -c:3')).to.deep.equal({
      kind: 'or',
      children: [
        { kind: 'and', children: [{ kind: 'term', op: 'a', value: '1' }, { kind: 'term', op: 'b', value: '2' }] },
        { kind: 'not', child: { kind: 'term', op: 'c', value: '3' } },
      ],
    });
    expect(parseQuery('NOT (x:1 OR y:2)')).to.deep.equal({
      kind: 'not', child: { kind: 'or', children: [{ kind: 'term', op: 'x', value: '1' }, { kind: 'term', op: 'y', value: '2' }] },
    });
  });

  it('unwraps "quoted" and {braced} values', () => {
    expect(parseQuery('after:"2026-11-20 10:00:00"')).to.deep.equal({ kind: 'term', op: 'after', value: '2026-11-20 10:00:00' });
    expect(parseQuery('after:{2026-11-20 10:00:00}')).to.deep.equal({ kind: 'term', op: 'after', value: '2026-11-20 10:00:00' });
  });

  it('rejects unbalanced input', () => {
    for (const q of ['(a:1', 'a:1)', 'a:"x', '', 'OR']) expect(() => parseQuery(q), q).to.throw(QueryError);
  });

  it('reads ages and dates as Gerrit does', () => {
    expect(parseAge('2d')).to.equal(2 * 86400_000);
    expect(parseAge('90m')).to.equal(90 * 60_000);
    expect(parseAge('3hours')).to.equal(3 * 3600_000);
    expect(parseQueryDate('2026-11-20 10:00:00').toISOString()).to.equal('2026-11-20T10:00:00.000Z');
    expect(parseQueryDate('2026-11-20').toISOString()).to.equal('2026-11-20T00:00:00.000Z');
    expect(parseQueryDate('2026-11-20 10:00:00 +0100').toISOString()).to.equal('2026-11-20T09:00:00.000Z');
    expect(() => parseQueryDate('yesterday')).to.throw(QueryError);
  });

  it('matches label votes on the current patch set, by user when asked', () => {
    const at = new Date('2026-11-20T11:00:00Z');
    const voted = change(1, { approvals: [{ label: 'Verified', value: -1, by: 'smokestack', date: at, patchSet: 1 }] });
    const plain = change(2);
    const outdated = change(3, { approvals: [{ label: 'Verified', value: 1, by: 'smokestack', date: at, patchSet: 0 }] });
    const all = [voted, plain, outdated];
    expect(matches('label:Verified=-1', all)).to.deep.equal([1]);
    expect(matches('label:Verified-1', all)).to.deep.equal([1]);
    expect(matches('label:Verified=0', all)).to.deep.equal([2, 3]);
    expect(matches('label:Verified<=-1,user=smokestack', all)).to.deep.equal([1]);
    expect(matches('-label:Verified=-1,user=self', all, 'smokestack')).to.deep.equal([2, 3]);
  });

  it('matches owner, change ids, subjects and bare numbers', () => {
    const all = [change(1), change(2, { owner: 'bob', subject: 'Fix the Frobnicator' })];
    expect(matches('owner:bob', all)).to.deep.equal([2]);
    expect(matches('owner:self', all, 'alice')).to.deep.equal([1]);
    expect(matches(`change:${all[0]!.changeId}`, all)).to.deep.equal([1]);
    expect(matches('change:demo~2', all)).to.deep.equal([2]);
    expect(matches('frobnicator', all)).to.deep.equal([2]);
    expect(matches('2', all)).to.deep.equal([2]);
  });

  it('narrows the search through the project index', () => {
    const compiled = compileQuery('project:demo status:open', {
      now: new Date(), account: () => undefined, changesOfProject: () => [change(9)], change: () => undefined,
    });
    expect([...compiled.candidates!].map((c) => c.number)).to.deep.equal([9]);
  });
});
