import { expect } from 'chai';
import { reachableTimeout, silentLogger, StateStore, type ProviderContext, type ServerGroup } from '@smokestack/core';

describe('reachableTimeout', () => {
  const ctx = (override?: number): ProviderContext => ({
    store: new StateStore('/nonexistent/state.json'),
    logger: silentLogger(),
    now: () => new Date(),
    env: {},
    ...(override !== undefined ? { reachableTimeoutMs: override } : {}),
  });
  const group = (seconds?: number): ServerGroup => ({
    name: 'g',
    provider: 'ssh',
    hosts: [],
    createdAt: '2026-11-22T00:00:00Z',
    state: 'creating',
    definition: seconds === undefined ? { provider: 'ssh' } : { provider: 'ssh', reachableTimeoutSeconds: seconds },
  });

  it('waits three minutes for hosts by default', () => {
    expect(reachableTimeout(group(), ctx())).to.equal(180_000);
  });

  it('takes the group definition\'s reachableTimeoutSeconds (slow-booting clouds, fast-failing labs)', () => {
    expect(reachableTimeout(group(900), ctx())).to.equal(900_000);
    expect(reachableTimeout(group(2), ctx())).to.equal(2_000);
  });

  it('lets the caller override both', () => {
    expect(reachableTimeout(group(900), ctx(5_000))).to.equal(5_000);
  });
});
