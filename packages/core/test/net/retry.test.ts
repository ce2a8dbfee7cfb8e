import { expect } from 'chai';
import { backoffWithJitter, isRetryable, requestNeverSent, retryDelay, sleep, type TryOutcome } from '../../src/net/retry.js';

describe('net/retry: one policy for every remote call', () => {
  it('retries 429 and connections that never carried the request whatever the method; 5xx, resets and cut bodies only when idempotent', () => {
    const cases: Array<[TryOutcome, boolean, boolean]> = [
      [{ kind: 'status', status: 429 }, false, true],
      [{ kind: 'status', status: 429 }, true, true],
      [{ kind: 'status', status: 500 }, true, true],
      [{ kind: 'status', status: 502 }, true, true],
      [{ kind: 'status', status: 503 }, true, true],
      [{ kind: 'status', status: 504 }, true, true],
      [{ kind: 'status', status: 500 }, false, false],
      [{ kind: 'status', status: 503 }, false, false],
      [{ kind: 'status', status: 501 }, true, false],
      [{ kind: 'status', status: 505 }, true, false],
      [{ kind: 'status', status: 400 }, true, false],
      [{ kind: 'status', status: 401 }, true, false],
      [{ kind: 'status', status: 404 }, true, false],
      [{ kind: 'network', sent: false }, false, true],
      [{ kind: 'network', sent: true }, true, true],
      [{ kind: 'network', sent: true }, false, false],
      [{ kind: 'truncated' }, true, true],
      [{ kind: 'truncated' }, false, false],
    ];
    for (const [outcome, idempotent, expected] of cases) expect(isRetryable(outcome, idempotent), `${JSON.stringify(outcome)} idempotent=${idempotent}`).to.equal(expected);
  });

  it('knows which connection errors happen before anything is sent', () => {
    expect(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH'].every(requestNeverSent)).to.equal(true);
    expect(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', undefined].some(requestNeverSent)).to.equal(false);
  });

  it('waits the capped exponential backoff with jitter, or a longer Retry-After up to its own cap', () => {
    const policy = { retries: 5, backoff: { baseMs: 100, maxMs: 1000, jitter: 0.5 }, maxRetryAfterMs: 5000 };
    for (let attempt = 0; attempt < 12; attempt++) {
      const step = Math.min(1000, 100 * 2 ** attempt);
      for (const r of [0, 0.3, 0.999]) {
        const delay = backoffWithJitter(attempt, policy.backoff, () => r);
        expect(delay).to.be.within(step / 2, step);
      }
    }
    expect(retryDelay({ ...policy, random: () => 1 }, 0)).to.equal(100);
    expect(retryDelay({ ...policy, random: () => 1 }, 0, 2000)).to.equal(2000);
    expect(retryDelay({ ...policy, random: () => 1 }, 0, 600_000)).to.equal(5000);
    expect(retryDelay({ ...policy, random: () => 1 }, 5, 10)).to.equal(1000);
  });

  it('a sleep ends as soon as its signal aborts', async () => {
    const stop = new AbortController();
    const order: string[] = [];
    const long = sleep(600_000, stop.signal).then(() => order.push('sleep ended'));
    order.push('abort');
    stop.abort();
    await long;
    expect(order).to.deep.equal(['abort', 'sleep ended']);
  });
});
