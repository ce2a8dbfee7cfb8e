/**
 * `Depends-On:` commit-message footers (Zuul's convention): each names another change, by its URL
 * (`https://review.example.org/c/project/+/12345`, older `…/#/c/12345/`) or its Change-Id (`I…`).
 */

// As Zuul reads them: any line of the message, any case, the value up to trailing spaces.
const DEPENDS_ON = /^Depends-On:[ \t]*(.*?)[ \t]*$/gim;

/** The values of every `Depends-On:` line of a commit message, in order, each once. Pure. */
export function dependsOnFooters(message: string): string[] {
  const out: string[] = [];
  for (const m of message.matchAll(DEPENDS_ON)) {
    const value = m[1]!;
    if (value && !out.includes(value)) out.push(value);
  }
  return out;
}

/** What a Depends-On footer names. */
export type DependencyRef =
  | { kind: 'number'; number: number; project?: string }
  | { kind: 'changeId'; changeId: string }
  /** A change on another review server (GitHub, another Gerrit): not ours to fetch. */
  | { kind: 'foreign'; text: string }
  | { kind: 'invalid'; text: string };

const CHANGE_ID = /^I[0-9a-f]{40}$/;

/** Reads a Depends-On value as a change of this Gerrit (`gerritUrl`), another server's, or nothing usable. Pure. */
export function parseDependencyRef(value: string, gerritUrl: string): DependencyRef {
  if (CHANGE_ID.test(value)) return { kind: 'changeId', changeId: value };
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { kind: 'invalid', text: value };
  }
  const ours = new URL(gerritUrl);
  if (url.host !== ours.host) return { kind: 'foreign', text: value };
  // The path after Gerrit's own base path (a site may live under /gerrit/), then the fragment (old UIs: /#/c/123/).
  const base = ours.pathname.replace(/\/+$/, '');
  const where = `${url.pathname.startsWith(base) ? url.pathname.slice(base.length) : url.pathname}/${url.hash.replace(/^#/, '')}`.replace(/\/+/g, '/');
  const modern = /\/c\/(.+?)\/\+\/(\d+)(?:\/|$)/.exec(where);
  if (modern) return { kind: 'number', project: decodeURIComponent(modern[1]!), number: Number(modern[2]) };
  const old = /^\/(?:c\/)?(\d+)\/(?:\d+\/)?$/.exec(where);
  if (old) return { kind: 'number', number: Number(old[1]) };
  return { kind: 'invalid', text: value };
}

/** The cache key of what a reference names. */
export function dependencyRefKey(ref: DependencyRef): string {
  switch (ref.kind) {
    case 'number':
      return ref.project ? `${ref.project}~${ref.number}` : `#${ref.number}`;
    case 'changeId':
      return ref.changeId;
    default:
      return `?${ref.text}`;
  }
}
