import { markerValue, type Marker } from './markers.js';

/**
 * What a source's checkout (source-checkout.sh.hbs) printed, judged: the revisions it resolved, and
 * when it failed, whose fault that is. Pure; the build and configure stages' judges call it.
 */

export interface SourceRevision {
  /** `build:N` or `module:N`. */
  key: string;
  revision?: string;
  /** Revisions of the changes merged in after the ref (Depends-On), in order. */
  mergedRevisions?: string[];
  mergeTargetRevision?: string;
}

/** A source as its checkout's judge needs it. */
export interface CheckedOutSource {
  key: string;
  name: string;
  /** Where the source is fetched from, as the user knows it (not the bundle a local checkout travels in). */
  url: string;
  ref: string;
  /** The change under test: a ref of its own that the server lacks is its fault, any other ref's absence is not. */
  underTest: boolean;
}

export interface CheckoutVerdict {
  kind: 'change' | 'infra';
  message: string;
}

/** The revisions one source's checkout printed. */
export function checkoutRevision(key: string, markers: readonly Marker[]): SourceRevision {
  const revision = markerValue(markers, 'revision', key)?.[0];
  const mergeTargetRevision = markerValue(markers, 'merge-target', key)?.[0];
  const merged = markers.filter((m) => m.key === 'merged-revision' && m.args[0] === key).map((m) => m.args[2] ?? '');
  return { key, ...(revision ? { revision } : {}), ...(merged.length ? { mergedRevisions: merged } : {}), ...(mergeTargetRevision ? { mergeTargetRevision } : {}) };
}

/** What git said went wrong: its first `fatal:` line, else its last line. */
function gitReason(output: readonly string[]): string {
  const lines = output.map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('::smokestack::'));
  const fatal = lines.find((l) => l.startsWith('fatal: '));
  return (fatal ?? lines.at(-1) ?? '').replace(/^fatal: /, '');
}

function fetchOperation(source: CheckedOutSource, what: string, ref: string, url: string): string {
  if (what === 'depends-on') return `fetching ${ref}, a change ${source.name} depends on, from ${url}`;
  if (what === 'target') return `fetching ${ref}, the branch ${source.name} is merged onto, from ${url}`;
  return `fetching ${source.name} (${source.ref}) from ${source.url}`;
}

/**
 * Why a checkout failed, or undefined when it printed no failure. A server that cannot be reached is
 * the machinery's; a ref it lacks is the change's only when it is the change's own; a merge that does
 * not go through is the change's, naming the files in conflict. `output`: what the checkout printed.
 */
export function judgeCheckout(source: CheckedOutSource, host: string, markers: readonly Marker[], output: readonly string[]): CheckoutVerdict | undefined {
  const fetchFailed = markerValue(markers, 'fetch-failed', source.key);
  if (fetchFailed) {
    const [what = 'source', ref = source.ref, ...url] = fetchFailed;
    const operation = `${fetchOperation(source, what, ref, url.join(' '))} on ${host} failed`;
    const reason = gitReason(output);
    if (markerValue(markers, 'source-reachable', source.key)?.[0] === 'no') return { kind: 'infra', message: `${operation}: the server cannot be reached (${reason})` };
    return { kind: what === 'source' && source.underTest ? 'change' : 'infra', message: `${operation}: the repository has no ${ref} (${reason})` };
  }
  const mergeFailed = markerValue(markers, 'merge-failed', source.key);
  if (!mergeFailed) return undefined;
  const files = markers.filter((m) => m.key === 'conflict' && m.args[0] === source.key).map((m) => m.args.slice(1).join(' '));
  const why = files.length ? `conflict in ${files.join(', ')}` : 'it does not merge cleanly';
  return { kind: 'change', message: `merging ${mergeFailed.join(' ')} into ${source.name} on ${host} failed: ${why}` };
}
