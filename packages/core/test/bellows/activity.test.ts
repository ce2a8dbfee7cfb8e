import { expect } from 'chai';
import { noteActivity } from '../../src/bellows/activity.js';
import type { StateData } from '../../src/store/schema.js';
import { state } from './fixtures.js';

const at = (minute: number) => new Date(Date.UTC(2026, 10, 22, 9, minute));

describe('bellows/activity', () => {
  it('a failed run keeps when the last good one was; a stream down twice is down since the first time', () => {
    const s: StateData = state();
    noteActivity(s, 'sync', { ok: true, summary: 'swept' }, at(0), 'ci:1');
    noteActivity(s, 'sync', { ok: false, summary: 'HTTP 503\nstack…' }, at(5), 'ci:1');
    expect(s.activity!.sync).to.deep.equal({ at: at(5).toISOString(), ok: false, summary: 'HTTP 503', by: 'ci:1', lastOkAt: at(0).toISOString() });
    noteActivity(s, 'stream', { ok: false, summary: 'disconnected: refused', since: at(1).toISOString() }, at(1), 'ci:2');
    noteActivity(s, 'stream', { ok: false, summary: 'disconnected: refused', since: at(2).toISOString() }, at(2), 'ci:2');
    expect(s.activity!.stream).to.include({ since: at(1).toISOString(), ok: false });
    noteActivity(s, 'stream', { ok: true, summary: 'connected', since: at(3).toISOString() }, at(3), 'ci:2');
    expect(s.activity!.stream).to.deep.equal({ at: at(3).toISOString(), ok: true, summary: 'connected', by: 'ci:2', since: at(3).toISOString() });
    expect(s.activity!.sync!.ok, 'one kind never touches another').to.equal(false);
  });
});
