import { classifyJob, type Classification, type FailureKind, type StageOutcome } from '../results/classify.js';
import type { RequiredSkip } from '../model.js';
import type { ResultsRollup } from '../results/types.js';
import { changedResources, firstPuppetError, markerValue, parseMarkers, sectionBetween } from './markers.js';
import { checkoutRevision, judgeCheckout, type CheckedOutSource, type SourceRevision } from './checkout-judge.js';

/**
 * The verdicts of the pipeline's stages: pure functions over what a stage script printed (its
 * markers), its exit code and timings. The stages run the scripts; these decide what happened.
 */

/** How a stage script on one host ended. */
export interface ScriptRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** What one host's part of a stage found: the change's faults, and the machinery's (a script killed from outside, a lost file). */
export interface HostJudgement {
  failures: string[];
  infra: string[];
}

/** A stage's outcome across its hosts; undefined when it passed. The change's faults come first. */
export function stageFault(judgements: readonly HostJudgement[], changeKind: FailureKind): { kind: FailureKind; message: string } | undefined {
  const failures = judgements.flatMap((j) => j.failures);
  if (failures.length > 0) return { kind: changeKind, message: failures.join('; ') };
  const infra = judgements.flatMap((j) => j.infra);
  if (infra.length > 0) return { kind: 'infra', message: infra.join('; ') };
  return undefined;
}

/** A stage script that ended by a signal (exit 128+N) before reporting was killed from outside: not the code under test. */
export const killedScript = (code: number): boolean => code > 128 && code < 160;

/** The last line of a script's output that is not a runner marker (what a user needs to see). */
export function lastLine(text: string): string {
  return (
    text
      .trim()
      .split('\n')
      .filter((l) => !l.startsWith('::smokestack::'))
      .pop() ?? ''
  );
}

export type { SourceRevision } from './checkout-judge.js';

// -- configure ------------------------------------------------------------------------------------

export interface PuppetJudgement extends HostJudgement {
  /** Revisions of the Puppet modules fetched from git. */
  revisions: SourceRevision[];
}

/**
 * One host's configure script: the first `puppet apply --detailed-exitcodes` must exit 0 or 2, the
 * second (idempotence) only 0; a second run that changed something names the resources.
 */
export function judgePuppet(host: string, modules: readonly CheckedOutSource[], run: ScriptRun): PuppetJudgement {
  const markers = parseMarkers(run.stdout);
  const out: PuppetJudgement = { revisions: [], failures: [], infra: [] };
  const said = `${run.stdout}\n${run.stderr}`.split('\n');
  for (const m of modules) {
    const revision = checkoutRevision(m.key, markers);
    if (revision.revision) out.revisions.push(revision);
    const verdict = judgeCheckout(m, host, markers, said);
    if (verdict) (verdict.kind === 'change' ? out.failures : out.infra).push(verdict.message);
  }
  // A module that could not be checked out stopped the script before Puppet ran.
  if (out.infra.length || out.failures.length) return out;
  const first = markerValue(markers, 'puppet-end', 1)?.[0];
  const second = markerValue(markers, 'puppet-end', 2)?.[0];
  const output = `${run.stdout}\n${run.stderr}`;
  if (first === undefined) {
    if (killedScript(run.code)) out.infra.push(`configure script on ${host} was killed (exit ${run.code}) before Puppet ran`);
    else if (run.code !== 0) out.failures.push(`preparing Puppet on ${host} failed (exit ${run.code}): ${lastLine(run.stderr)}`);
    return out;
  }
  if (first !== '0' && first !== '2') {
    const error = firstPuppetError(output);
    out.failures.push(`Puppet apply failed on ${host} (exit ${first})${error ? `: ${error}` : ''}`);
    return out;
  }
  if (second !== undefined && second !== '0') {
    const names = changedResources(sectionBetween(run.stdout, 'puppet', 2))
      .map((c) => c.resource)
      .join(', ');
    if (second === '2') out.failures.push(`Puppet is not idempotent on ${host}: the second apply changed ${names || 'resources'}`);
    else out.failures.push(`Puppet's second apply failed on ${host} (exit ${second})${names ? `; changed ${names}` : ''}: ${firstPuppetError(output) ?? ''}`);
    return out;
  }
  if (run.code !== 0) out.failures.push(`configure on ${host} exited ${run.code}: ${lastLine(run.stderr)}`);
  return out;
}

// -- test -----------------------------------------------------------------------------------------

export interface SuiteItem {
  index: number;
  name: string;
  timeoutSeconds: number;
}

export interface SuitesJudgement {
  /** Each suite's exit status, undefined when it never reported one. */
  exitCodes: Map<number, number | undefined>;
  failures: string[];
  /** Suites that never reported an exit status: the machinery around them failed, not they. */
  notRun: string[];
}

/**
 * One host's test script. timeout(1) answers 124, or 137 when the suite outlived TERM; a 137 long
 * before the deadline is somebody else's SIGKILL (the OOM killer, a dying host), not our timeout.
 */
export function judgeSuites(host: string, items: readonly SuiteItem[], run: ScriptRun): SuitesJudgement {
  const markers = parseMarkers(run.stdout);
  const out: SuitesJudgement = { exitCodes: new Map(), failures: [], notRun: [] };
  for (const item of items) {
    const [rc, elapsed] = markerValue(markers, 'suite-exit', item.index) ?? [];
    out.exitCodes.set(item.index, rc === undefined ? undefined : Number(rc));
    const timedOut = rc === '124' || (rc === '137' && Number(elapsed ?? item.timeoutSeconds) >= item.timeoutSeconds);
    if (rc === undefined) out.notRun.push(`suite ${item.name} on ${host} did not run (test script exited ${run.code}: ${lastLine(run.stderr)})`);
    else if (timedOut) out.failures.push(`suite ${item.name} on ${host} timed out after ${item.timeoutSeconds}s`);
    else if (rc === '137') out.failures.push(`suite ${item.name} on ${host} was killed (SIGKILL) after ${elapsed}s`);
    else if (rc !== '0') out.failures.push(`suite ${item.name} on ${host} exited ${rc}`);
  }
  return out;
}

/** The test stage across hosts: a failing suite is the change's; suites that never reported are the machinery's. */
export function testStageFault(judgements: readonly SuitesJudgement[]): { kind: FailureKind; message: string } | undefined {
  const failures = judgements.flatMap((j) => j.failures);
  const notRun = judgements.flatMap((j) => j.notRun);
  if (failures.length > 0) return { kind: 'test', message: [...failures, ...notRun].join('; ') };
  if (notRun.length > 0) return { kind: 'infra', message: notRun.join('; ') };
  return undefined;
}

// -- teardown -------------------------------------------------------------------------------------

export interface TeardownFacts {
  /** The run used an existing group (stepwise commands, --group): never ours to delete. */
  existingGroup?: string;
  /** The group this run created, if it got as far as naming one. */
  groupName?: string;
  /** The group was created and reached (a failed create has already cleaned up). */
  groupCreated: boolean;
  keep: boolean;
  keepOnFailure: boolean;
  failed: boolean;
}

export type TeardownDecision =
  | { action: 'leave'; message: string }
  | { action: 'keep'; message: string }
  | { action: 'delete'; group: string };

/** Whether to delete the job's server group: never an existing one; kept with --keep or on failure when asked. */
export function decideTeardown(facts: TeardownFacts): TeardownDecision {
  if (facts.existingGroup) return { action: 'leave', message: `existing server group ${facts.existingGroup} left as it is` };
  if (!facts.groupName) return { action: 'leave', message: 'no server group was created' };
  if (facts.groupCreated && (facts.keep || (facts.failed && facts.keepOnFailure))) {
    const why = facts.keep ? ' (--keep)' : ' (keep on failure)';
    return { action: 'keep', message: `kept server group ${facts.groupName}${why}; delete it with: firestack group delete ${facts.groupName}` };
  }
  return { action: 'delete', group: facts.groupName };
}

// -- the job --------------------------------------------------------------------------------------

/**
 * The job's verdict from its stage outcomes and test results; a test failure names the failing tests.
 * A job that would pass while tests its template requires did not run is `incomplete`: neither green nor red.
 */
export function judgeJob(outcomes: readonly StageOutcome[], rollup: ResultsRollup, requiredSkipped: readonly RequiredSkip[] = []): Classification {
  const verdict = classifyJob(outcomes, { ...rollup.summary, failedTests: rollup.failedTests });
  if (verdict.status === 'success' && requiredSkipped.length > 0) {
    const names = requiredSkipped.slice(0, 10).map((r) => `${r.id} (${r.reason})`).join(', ') + (requiredSkipped.length > 10 ? ', …' : '');
    return { status: 'incomplete', message: `${requiredSkipped.length} required test(s) did not run: ${names}` };
  }
  if (verdict.status !== 'test_failed' || rollup.failedTests.length === 0) return verdict;
  const decisive = outcomes.find((o) => o.status === 'failed' && o.stage === 'test');
  const names = rollup.failedTests.slice(0, 10).join(', ') + (rollup.failedTests.length > 10 ? ', …' : '');
  return { status: 'test_failed', message: `${rollup.failedTests.length} failing test(s): ${names}${decisive?.message ? ` (${decisive.message})` : ''}` };
}
