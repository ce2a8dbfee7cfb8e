import { checkoutRevision, judgeCheckout, type CheckedOutSource, type SourceRevision } from '../checkout-judge.js';
import { killedScript, lastLine, type HostJudgement, type ScriptRun } from '../judge.js';
import { markerValue, parseMarkers, type Marker } from '../markers.js';

/**
 * The build stage's verdict: a pure function over what the build script printed. Each build runs as
 * steps (tools, fetch, merge, build-deps, package-lists, build-deps-resolve, build-deps-install, build);
 * the step that failed and the facts the script gathered about it (could the source's server be reached,
 * which tools are missing, how much disk is left) decide whose fault the failure is.
 */

export interface BuildItem extends CheckedOutSource {
  index: number;
  mergeTarget?: string;
}

export interface BuildJudgement extends HostJudgement {
  revisions: SourceRevision[];
}

/** With less free space than this (KiB) left in the workspace, a failed step is the full disk's doing. */
export const FULL_DISK_KIB = 1024;

/** The output of one step of one build: the lines between its `step` and `step-failed` markers. */
export function stepOutput(stdout: string, index: number, step: string): string[] {
  const lines = stdout.split('\n');
  const begin = lines.lastIndexOf(`::smokestack:: step ${index} ${step}`);
  if (begin < 0) return [];
  const end = lines.findIndex((l, i) => i > begin && l.startsWith(`::smokestack:: step-failed ${index} ${step} `));
  return lines.slice(begin + 1, end < 0 ? undefined : end).filter((l) => !l.startsWith('::smokestack::'));
}

/** The line of a tool's output that says what went wrong (the first pattern that matches a line wins), else its last line. */
function reason(lines: readonly string[], ...patterns: RegExp[]): string {
  const trimmed = lines.map((l) => l.trim());
  for (const pattern of patterns) {
    const found = trimmed.find((l) => pattern.test(l));
    if (found) return found.replace(/^fatal: /, '');
  }
  return lastLine(lines.join('\n'));
}

const GIT_ERROR = /^fatal: /;
const APT_ERROR = /^E: /;
/** apt naming the dependency it cannot satisfy: `builddeps:./ : Depends: foo but it is not installable`. */
const APT_UNSATISFIABLE = /Depends: .* but |cannot be found/;

type Verdict = { kind: 'change' | 'infra'; message: string };

/** What the build was doing in a step, in words a reviewer reads in the job message. */
function operation(item: BuildItem, step: string, deps: string): string {
  const of = `${item.name}${deps ? ` (${deps})` : ''}`;
  switch (step) {
    case 'tools':
      return `checking the build tools for ${item.name}`;
    case 'fetch':
      return `fetching ${item.name} (${item.ref}) from ${item.url}`;
    case 'merge':
      return `merging ${item.name} onto ${item.mergeTarget || 'its target branch'}`;
    case 'package-lists':
      return `updating the package lists for the build dependencies of ${of}`;
    case 'build-deps-resolve':
      return `resolving the build dependencies of ${of}`;
    case 'build-deps':
      return `checking the build dependencies of ${of}`;
    case 'build-deps-install':
      return `installing the build dependencies of ${of}`;
    default:
      return `building ${item.name}`;
  }
}

/** The Debian packages that provide the build tools a host may lack. */
const TOOL_PACKAGES: Record<string, string> = { git: 'git', rpmbuild: 'rpm', 'dpkg-parsechangelog': 'dpkg-dev', 'dpkg-checkbuilddeps': 'dpkg-dev', 'dpkg-buildpackage': 'dpkg-dev', 'apt-get': 'apt' };

/** Pure: what to install for the missing tools, so the operator's fix is in the job message. */
function installHint(tools: readonly string[]): string {
  const packages = [...new Set(tools.map((t) => TOOL_PACKAGES[t] ?? t))];
  return `Debian: apt-get install ${packages.join(' ')}`;
}

/** Why one build's step failed, and whose fault that is: the change's (it votes) or the machinery's (retried). */
export function judgeFailedStep(host: string, item: BuildItem, markers: readonly Marker[], stdout: string, step: string, rc: string): Verdict {
  const output = stepOutput(stdout, item.index, step);
  const deps = (markerValue(markers, 'unmet-build-deps', item.index) ?? []).join(' ').trim();
  const what = `${operation(item, step, deps)} on ${host}`;
  const missing = markerValue(markers, 'missing-tools', item.index);
  if (missing?.length) return { kind: 'infra', message: `${what} failed: the host lacks ${missing.join(', ')} (${installHint(missing)})` };
  const free = Number(markerValue(markers, 'disk-free', item.index)?.[0] ?? Number.NaN);
  if (free < FULL_DISK_KIB || output.some((l) => /No space left on device/.test(l))) {
    return { kind: 'infra', message: `${what} failed: the disk is full (${Number.isNaN(free) ? 'no' : free} KiB left)` };
  }
  switch (step) {
    case 'fetch':
    case 'merge':
      // Without the checkout's own verdict, the checkout stopped before git could say why.
      return judgeCheckout(item, host, markers, output) ?? { kind: 'infra', message: `${what} failed (exit ${rc}): ${reason(output, GIT_ERROR)}` };
    case 'build-deps':
      if (markerValue(markers, 'needs-root', item.index)) return { kind: 'infra', message: `${what} failed: installing packages needs root or passwordless sudo` };
      return { kind: 'change', message: `${what} failed: the package's build dependencies cannot be read (${reason(output, /error: /)})` };
    case 'package-lists':
      return { kind: 'infra', message: `${what} failed: a package mirror cannot be reached (${reason(output, APT_ERROR)})` };
    case 'build-deps-resolve':
      return { kind: 'change', message: `${what} failed: no package repository provides them (${reason(output, APT_UNSATISFIABLE, APT_ERROR)})` };
    case 'build-deps-install':
      return { kind: 'infra', message: `${what} failed: ${reason(output, APT_ERROR)}` };
    default:
      return { kind: 'change', message: `${what} failed (exit ${rc}): ${lastLine(output.join('\n'))}` };
  }
}

/** One host's build script: the revision of every source it fetched, and which builds failed, how, and whose fault it is. */
export function judgeBuild(host: string, items: readonly BuildItem[], run: ScriptRun): BuildJudgement {
  const markers = parseMarkers(run.stdout);
  const out: BuildJudgement = { revisions: [], failures: [], infra: [] };
  for (const item of items) {
    out.revisions.push(checkoutRevision(item.key, markers));
    const failed = markerValue(markers, 'step-failed', item.index);
    if (!failed) continue;
    const [step = 'build', rc = '?'] = failed;
    const verdict = judgeFailedStep(host, item, markers, run.stdout, step, rc);
    (verdict.kind === 'change' ? out.failures : out.infra).push(verdict.message);
  }
  if (run.code !== 0 && !markers.some((m) => m.key === 'build-failed')) {
    const last = lastLine(run.stderr) || lastLine(run.stdout);
    if (killedScript(run.code)) out.infra.push(`build script on ${host} was killed (exit ${run.code}) before a build finished`);
    // The launcher could not write the script into the workspace (a full disk, a read-only file system).
    else if (run.code === 125) out.infra.push(`build script on ${host} could not be started (exit 125): ${last}`);
    else out.failures.push(`build script on ${host} exited ${run.code}: ${last}`);
  }
  return out;
}
