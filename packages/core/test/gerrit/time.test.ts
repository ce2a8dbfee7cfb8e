import { expect } from 'chai';
import { formatGerritTime, parseGerritTime } from '../../src/gerrit/time.js';
import { backoffWithJitter, parseRetryAfter, sleep } from '../../src/gerrit/backoff.js';

describe('gerrit/time and backoff', () => {
  it('parses Gerrit timestamps (UTC, nanoseconds) and epoch seconds', () => {
    expect(parseGerritTime('2012-07-17 07:18:30.854000000')).to.equal('2012-07-17T07:18:30.854Z');
    expect(parseGerritTime('2012-07-17 07:18:30')).to.equal('2012-07-17T07:18:30.000Z');
    expect(parseGerritTime(1342509510)).to.equal('2012-07-17T07:18:30.000Z');
    expect(parseGerritTime('1342509510')).to.equal('2012-07-17T07:18:30.000Z');
    expect(parseGerritTime('')).to.equal(undefined);
    expect(parseGerritTime('yesterday-ish')).to.equal(undefined);
    expect(parseGerritTime(undefined)).to.equal(undefined);
  });

  it('formats times for after:', () => {
    expect(formatGerritTime(new Date('2026-11-20T10:00:00.123Z'))).to.equal('2026-11-20 10:00:00');
  });

  it('backs off exponentially up to the cap, with bounded jitter', () => {
    const opts = { baseMs: 100, maxMs: 1000, jitter: 0.5 };
    expect(backoffWithJitter(0, opts, () => 1)).to.equal(100);
    expect(backoffWithJitter(0, opts, () => 0)).to.equal(50);
    expect(backoffWithJitter(3, opts, () => 1)).to.equal(800);
    expect(backoffWithJitter(10, opts, () => 1)).to.equal(1000);
  });

  it('reads Retry-After as seconds or a date', () => {
    const now = new Date('2026-11-20T10:00:00Z');
    expect(parseRetryAfter('3', now)).to.equal(3000);
    expect(parseRetryAfter('Fri, 20 Nov 2026 10:00:05 GMT', now)).to.equal(5000);
    expect(parseRetryAfter('soon', now)).to.equal(undefined);
    expect(parseRetryAfter(null, now)).to.equal(undefined);
  });

  it('sleep ends early when aborted', async () => {
    const ac = new AbortController();
    const started = Date.now();
    setTimeout(() => ac.abort(), 10);
    await sleep(5000, ac.signal);
    expect(Date.now() - started).to.be.lessThan(1000);
  });
});
