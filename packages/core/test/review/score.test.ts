import { expect } from 'chai';
import {
  DEFAULT_SCORES,
  changeFeedback,
  feedback,
  isBotVote,
  linkOf,
  resolveScores,
  scoreChange,
  type PriorityLookup,
} from '../../src/review/index.js';
import type { BlueprintPriority, BugPriority } from '../../src/launchpad/index.js';
import { NOW, makeChange, vote } from './fixtures.js';

function lookup(bugs: Record<number, BugPriority> = {}, blueprints: Record<string, BlueprintPriority> = {}): PriorityLookup {
  return { bug: (n) => bugs[n], blueprint: (name) => blueprints[name] };
}

const found = (importance: string | undefined, tags: string[] = []): BugPriority => ({ status: 'found', importance, target: 'nova', tags });
const spec = (priority: string | undefined): BlueprintPriority => ({ status: 'found', priority });
const outage: BugPriority & BlueprintPriority = { status: 'unknown', why: 'Launchpad unavailable: ECONNREFUSED' };

describe('review/score', () => {
  describe('linkOf', () => {
    const cases: Array<[string | undefined, ReturnType<typeof linkOf>]> = [
      [undefined, { kind: 'none' }],
      ['', { kind: 'none' }],
      ['bug/1234', { kind: 'bug', bug: 1234 }],
      ['bp/live-migration', { kind: 'blueprint', name: 'live-migration', explicit: true }],
      ['live-migration', { kind: 'blueprint', name: 'live-migration', explicit: false }],
      ['my topic with spaces', { kind: 'none' }],
      ['bp/../../etc', { kind: 'none' }],
      ['bug/12abc', { kind: 'none' }],
    ];
    for (const [topic, expected] of cases) {
      it(`topic ${JSON.stringify(topic)} → ${expected.kind}`, () => expect(linkOf(topic)).to.deep.equal(expected));
    }
  });

  describe('cause and base score (the original table, mapped explicitly)', () => {
    const cases: Array<{ name: string; topic?: string; lookup: PriorityLookup; cause: string; base: number; unknown?: boolean }> = [
      { name: 'no topic', lookup: lookup(), cause: 'No link', base: 0 },
      { name: 'Critical bug', topic: 'bug/1', lookup: lookup({ 1: found('Critical') }), cause: 'Critical bugfix', base: 340 },
      { name: 'High bug', topic: 'bug/1', lookup: lookup({ 1: found('High') }), cause: 'High bugfix', base: 130 },
      { name: 'Medium bug', topic: 'bug/1', lookup: lookup({ 1: found('Medium') }), cause: 'Medium bugfix', base: 70 },
      { name: 'Low bug', topic: 'bug/1', lookup: lookup({ 1: found('Low') }), cause: 'Low bugfix', base: 50 },
      { name: 'Wishlist bug', topic: 'bug/1', lookup: lookup({ 1: found('Wishlist') }), cause: 'Wishlist bugfix', base: 35 },
      { name: 'Undecided bug', topic: 'bug/1', lookup: lookup({ 1: found('Undecided') }), cause: 'Undecided bugfix', base: 30 },
      { name: 'Unknown importance counts as Undecided', topic: 'bug/1', lookup: lookup({ 1: found('Unknown') }), cause: 'Undecided bugfix', base: 30 },
      { name: 'missing importance counts as Undecided', topic: 'bug/1', lookup: lookup({ 1: found(undefined) }), cause: 'Undecided bugfix', base: 30 },
      // "Regression hotfix" was unreachable in the original: a High/Critical bug tagged regression reaches it.
      { name: 'Critical regression', topic: 'bug/1', lookup: lookup({ 1: found('Critical', ['regression']) }), cause: 'Regression hotfix', base: 350 },
      { name: 'High regression-update', topic: 'bug/1', lookup: lookup({ 1: found('High', ['regression-update']) }), cause: 'Regression hotfix', base: 350 },
      { name: 'Low regression stays Low', topic: 'bug/1', lookup: lookup({ 1: found('Low', ['regression']) }), cause: 'Low bugfix', base: 50 },
      {
        name: 'bug without a task for this project (original took the first task)',
        topic: 'bug/1',
        lookup: lookup({ 1: { status: 'no-task', targets: ['cinder'], tags: [] } }),
        cause: 'Undecided bugfix',
        base: 30,
      },
      { name: 'bug not on Launchpad', topic: 'bug/1', lookup: lookup({ 1: { status: 'not-found' } }), cause: 'Undecided bugfix', base: 30 },
      { name: 'bug during an outage', topic: 'bug/1', lookup: lookup({ 1: outage }), cause: 'Unknown bugfix', base: 30, unknown: true },
      { name: 'bug never looked up', topic: 'bug/1', lookup: lookup(), cause: 'Unknown bugfix', base: 30, unknown: true },
      { name: 'Essential blueprint', topic: 'bp/x', lookup: lookup({}, { x: spec('Essential') }), cause: 'Essential feature', base: 330 },
      { name: 'High blueprint', topic: 'bp/x', lookup: lookup({}, { x: spec('High') }), cause: 'High feature', base: 230 },
      { name: 'Medium blueprint', topic: 'bp/x', lookup: lookup({}, { x: spec('Medium') }), cause: 'Medium feature', base: 180 },
      { name: 'Low blueprint', topic: 'bp/x', lookup: lookup({}, { x: spec('Low') }), cause: 'Low feature', base: 100 },
      { name: 'Undefined blueprint', topic: 'bp/x', lookup: lookup({}, { x: spec('Undefined') }), cause: 'Undefined feature', base: 40 },
      { name: '"Not" blueprint is untargeted', topic: 'bp/x', lookup: lookup({}, { x: spec('Not') }), cause: 'Untargeted feature', base: 10 },
      { name: 'blueprint without priority', topic: 'bp/x', lookup: lookup({}, { x: spec(undefined) }), cause: 'Undefined feature', base: 40 },
      { name: 'unknown blueprint', topic: 'bp/x', lookup: lookup({}, { x: { status: 'not-found' } }), cause: 'No link', base: 0 },
      { name: 'blueprint during an outage', topic: 'bp/x', lookup: lookup({}, { x: outage }), cause: 'Unknown feature', base: 40, unknown: true },
      { name: 'plain topic that is a blueprint', topic: 'x', lookup: lookup({}, { x: spec('High') }), cause: 'High feature', base: 230 },
      { name: 'plain topic that is no blueprint', topic: 'x', lookup: lookup({}, { x: { status: 'not-found' } }), cause: 'No link', base: 0 },
      { name: 'plain topic during an outage', topic: 'x', lookup: lookup({}, { x: outage }), cause: 'No link', base: 0, unknown: true },
    ];
    for (const c of cases) {
      it(`${c.name} → ${c.cause} (${c.base})`, () => {
        const scored = scoreChange(makeChange(1, { topic: c.topic }), c.lookup, { now: NOW })!;
        expect(scored.cause).to.equal(c.cause);
        expect(scored.baseScore).to.equal(c.base);
        expect(scored.score).to.equal(c.base);
        expect(scored.priorityUnknown).to.equal(Boolean(c.unknown));
        expect(scored.reasons[0]).to.equal(`${c.cause} (+${c.base})`);
      });
    }
  });

  describe('age bonus', () => {
    it('adds 3 per whole day since the current patch set was uploaded, and says so', () => {
      const scored = scoreChange(makeChange(1, { days: 12.9 }), lookup(), { now: NOW })!;
      expect(scored).to.include({ score: 36, ageBonus: 36, ageDays: 12 });
      expect(scored.reasons).to.deep.equal(['No link (+0)', 'no bug or blueprint linked (topic)', '12 days old (+36)']);
    });

    it('gives nothing for less than a day and honours ageBonusPerDay', () => {
      expect(scoreChange(makeChange(1, { days: 0.9 }), lookup(), { now: NOW })!.score).to.equal(0);
      expect(scoreChange(makeChange(1, { days: 4 }), lookup(), { now: NOW, ageBonusPerDay: 5 })!.score).to.equal(20);
    });

    it('gives no bonus when the upload time is unknown or in the future', () => {
      const change = makeChange(1, { days: 3 });
      delete change.currentPatchSet.created;
      const scored = scoreChange(change, lookup(), { now: NOW })!;
      expect(scored.ageBonus).to.equal(0);
      expect(scored.reasons).to.include('patch set upload time unknown (no age bonus)');
      expect(scoreChange(makeChange(1, { days: -2 }), lookup(), { now: NOW })!.ageBonus).to.equal(0);
    });

    const bots = ['smokestack'];
    const vetoCases: Array<{ name: string; votes: ReturnType<typeof vote>[]; bonus: number }> = [
      { name: 'a human Code-Review -2 withholds it', votes: [vote('Code-Review', -2, 'alice')], bonus: 0 },
      { name: 'a Code-Review -1 does not', votes: [vote('Code-Review', -1, 'alice')], bonus: 30 },
      // The original counted CI votes: a CI -2 cancelled the bonus.
      { name: 'a -2 from the configured CI account does not', votes: [vote('Code-Review', -2, 'smokestack')], bonus: 30 },
      { name: 'a -2 tagged autogenerated: does not', votes: [vote('Code-Review', -2, 'zuul', { tag: 'autogenerated:zuul:check' })], bonus: 30 },
      { name: 'a Verified -2 does not (only Code-Review vetoes)', votes: [vote('Verified', -2, 'bob')], bonus: 30 },
      { name: 'a human -2 beside CI votes does', votes: [vote('Verified', 1, 'smokestack'), vote('Code-Review', -2, 'carol')], bonus: 0 },
    ];
    for (const c of vetoCases) {
      it(c.name, () => {
        const scored = scoreChange(makeChange(1, { days: 10, approvals: c.votes }), lookup(), { now: NOW, botUsernames: bots })!;
        expect(scored.ageBonus).to.equal(c.bonus);
        expect(scored.blocked).to.equal(c.bonus === 0);
        if (c.bonus === 0) expect(scored.reasons.at(-1)).to.match(/^10 days old, no age bonus: Code-Review -2 by /);
      });
    }
  });

  describe('left out of the report', () => {
    it('work in progress (flag or Workflow -1) and changes that are not open', () => {
      expect(scoreChange(makeChange(1, { wip: true }), lookup(), { now: NOW })).to.equal(null);
      expect(scoreChange(makeChange(1, { approvals: [vote('Workflow', -1, 'alice')] }), lookup(), { now: NOW })).to.equal(null);
      expect(scoreChange(makeChange(1, { status: 'MERGED' }), lookup(), { now: NOW })).to.equal(null);
      expect(scoreChange(makeChange(1, { approvals: [vote('Workflow', 1, 'alice')] }), lookup(), { now: NOW })).to.not.equal(null);
    });
  });

  describe('configurable scores', () => {
    it('overrides apply over the defaults; unknown causes are reported', () => {
      const { scores, unknown } = resolveScores({ 'No link': 5, 'Critcal bugfix': 1 });
      expect(scores['No link']).to.equal(5);
      expect(scores['Critical bugfix']).to.equal(DEFAULT_SCORES['Critical bugfix']);
      expect(unknown).to.deep.equal(['Critcal bugfix']);
      expect(scoreChange(makeChange(1, { days: 1 }), lookup(), { now: NOW, scores })!.score).to.equal(8);
    });
  });

  describe('feedback', () => {
    const cases: Array<{ name: string; values: number[]; lowest: number | null; highest: number | null; shown: number | null; tone: string }> = [
      { name: 'no votes', values: [], lowest: null, highest: null, shown: null, tone: 'none' },
      // The original's defect: a 0 vote broke the lowest/highest logic.
      { name: 'only a 0 vote', values: [0], lowest: 0, highest: 0, shown: 0, tone: 'neutral' },
      { name: 'a 0 vote does not hide a +2', values: [0, 2], lowest: 0, highest: 2, shown: 2, tone: 'positive' },
      { name: 'a 0 vote does not hide a -1', values: [-1, 0], lowest: -1, highest: 0, shown: -1, tone: 'negative' },
      { name: 'mixed votes show the lowest', values: [1, -1, 2], lowest: -1, highest: 2, shown: -1, tone: 'negative' },
      { name: 'all positive shows the highest', values: [1, 2], lowest: 1, highest: 2, shown: 2, tone: 'positive' },
      { name: 'a -2 shows', values: [-2, 2], lowest: -2, highest: 2, shown: -2, tone: 'negative' },
    ];
    for (const c of cases) {
      it(`${c.name} → ${c.shown}`, () => {
        const fb = feedback(c.values.map((v, i) => vote('Code-Review', v, `r${i}`)));
        expect(fb).to.include({ lowest: c.lowest, highest: c.highest, shown: c.shown, tone: c.tone });
        expect(fb.votes).to.have.length(c.values.length);
      });
    }

    it('counts Code-Review and Verified votes, not Workflow', () => {
      const change = makeChange(1, { approvals: [vote('Workflow', 1, 'a'), vote('Verified', -1, 'ci'), vote('Code-Review', 2, 'b')] });
      expect(changeFeedback(change)).to.include({ lowest: -1, highest: 2 });
    });

    it('knows a bot vote by username or autogenerated tag', () => {
      expect(isBotVote(vote('Verified', 1, 'smokestack'), ['smokestack'])).to.equal(true);
      expect(isBotVote(vote('Verified', 1, 'zuul', { tag: 'autogenerated:zuul' }))).to.equal(true);
      expect(isBotVote(vote('Code-Review', 1, 'alice'), ['smokestack'])).to.equal(false);
    });
  });
});
