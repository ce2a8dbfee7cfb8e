import { UserError } from '../errors.js';
import { GIT_SECRETS_HINT, urlCarriesCredentials } from '../config/url-credentials.js';
import type { BranchSource, CustomSource, TestConfig } from '../model.js';
import { applyChanges, applyDependencies, type SourcePlan } from '../pipeline/plan.js';
import type { ProjectTarget } from './settings.js';

/** What a test config's sources rest on: its change (project, branch, patch set ref) and its project's settings. */
export interface SourceBasis {
  project: string;
  branch: string;
  ref: string;
}

/**
 * A test config's branches: the project's defaults from smokestack.yaml, the change's own patch set,
 * and what was set by hand over both (which survives every sync: a new patch set moves only the
 * change's own ref). Merging with trunk means onto the tip of the change's branch. Pure.
 */
export function effectiveBranches(basis: SourceBasis, target: Pick<ProjectTarget, 'url' | 'mergeTrunk' | 'sources'>, custom: Record<string, CustomSource> = {}): Record<string, BranchSource> {
  const merge = (yes: boolean | undefined) => (yes ? { mergeTarget: basis.branch } : {});
  const branches: Record<string, BranchSource> = {};
  for (const [project, s] of Object.entries(target.sources ?? {})) {
    if (project !== basis.project) branches[project] = { url: s.url, ref: s.ref, ...merge(s.mergeTrunk), origin: 'project' };
  }
  const own = custom[basis.project]?.mergeTrunk ?? target.mergeTrunk ?? true;
  branches[basis.project] = { url: target.url, ref: basis.ref, ...merge(own), origin: 'change' };
  for (const [project, c] of Object.entries(custom)) {
    if (project === basis.project) continue;
    const before = branches[project];
    const url = c.url ?? before?.url;
    const ref = c.ref ?? before?.ref;
    // Set by hand without a URL or ref: only a merge flag over a template's default, applied when the job is planned.
    if (!url || !ref) continue;
    branches[project] = { url, ref, ...merge(c.mergeTrunk ?? (before?.mergeTarget !== undefined)), origin: 'custom' };
  }
  return branches;
}

/** `--source PROJECT=URL#REF`, `PROJECT=REF` or `PROJECT` (with a merge flag only). */
export interface SourceSpec {
  project: string;
  url?: string;
  ref?: string;
}

/** Parses one `--source` value; a local path is refused: a worker on another machine could not reach it. */
export function parseSourceSpec(text: string): SourceSpec {
  const eq = text.indexOf('=');
  if (eq === 0 || eq === text.length - 1 || text === '') {
    throw new UserError(`--source ${JSON.stringify(text)}: expected PROJECT=URL#REF, PROJECT=REF or PROJECT`, { hint: 'e.g. --source openstack/glance=https://git.example.org/glance#quota-fix' });
  }
  if (eq < 0) return { project: text };
  const project = text.slice(0, eq);
  const value = text.slice(eq + 1);
  if (/^(\/|\.\.?(\/|$)|~\/)/.test(value)) {
    throw new UserError(`--source ${project}=${value}: a test configuration's source must be a git URL#REF or a ref, not a local path`, {
      hint: 'workers fetch it; use file:///path#REF for a repository every worker can read',
    });
  }
  const hash = value.lastIndexOf('#');
  if (hash > 0 && hash < value.length - 1) {
    const url = value.slice(0, hash);
    // The message leaves the URL out: it holds the secret.
    if (urlCarriesCredentials(url)) throw new UserError(`--source ${project}=URL#REF: ${GIT_SECRETS_HINT}`);
    return { project, url, ref: value.slice(hash + 1) };
  }
  if (hash >= 0) throw new UserError(`--source ${project}=${value}: expected URL#REF with both parts`);
  return { project, ref: value };
}

export interface SourceEdit {
  specs: SourceSpec[];
  /** --merge-trunk / --no-merge-trunk; absent: as before. */
  mergeTrunk?: boolean;
}

/**
 * The config's hand-set sources after `configs set`: each project must be the change's own or one a
 * template of the config builds or fetches (`templateSources`); the change's own project only takes
 * a merge flag, its URL and ref follow its patch sets. Pure.
 */
export function editCustomSources(config: Pick<TestConfig, 'id' | 'project' | 'templates' | 'branches' | 'custom'>, templateSources: readonly SourcePlan[], edit: SourceEdit): Record<string, CustomSource> {
  const custom = structuredClone(config.custom ?? {});
  const known = [...new Set([config.project, ...templateSources.map((s) => s.project)])];
  for (const spec of edit.specs) {
    const where = `--source ${spec.project}`;
    if (!known.includes(spec.project)) {
      throw new UserError(`${where}: no template of ${config.id} (${config.templates.join(', ') || 'none'}) builds or fetches ${spec.project}`, { hint: `projects: ${known.join(', ')}` });
    }
    if (spec.project === config.project && (spec.url || spec.ref)) {
      throw new UserError(`${where}: ${spec.project} is the change's own source; its URL and ref follow the change's patch sets`, { hint: 'only --merge-trunk or --no-merge-trunk apply to it' });
    }
    if (!spec.url && !spec.ref && edit.mergeTrunk === undefined) throw new UserError(`${where}: nothing to set`, { hint: 'give =URL#REF or =REF, or --merge-trunk / --no-merge-trunk' });
    const before = config.branches[spec.project];
    const template = templateSources.find((s) => s.project === spec.project);
    const entry: CustomSource = { ...custom[spec.project] };
    if (spec.url || spec.ref) {
      entry.url = spec.url ?? entry.url ?? before?.url ?? template!.url;
      entry.ref = spec.ref ?? entry.ref ?? before?.ref ?? template!.ref;
    }
    if (edit.mergeTrunk !== undefined) entry.mergeTrunk = edit.mergeTrunk;
    if (spec.project !== config.project && (!entry.url || !entry.ref)) {
      // A merge flag alone over a template's default: pin the default, so the flag has a source to apply to.
      entry.url = before?.url ?? template!.url;
      entry.ref = before?.ref ?? template!.ref;
    }
    custom[spec.project] = entry;
  }
  return custom;
}

/** One source of a test config as `configs show` lists it. */
export interface ConfigSourceRow {
  project: string;
  /** `build NAME` or `module NAME` of the templates using it; empty when no template does. */
  uses: string[];
  url: string;
  ref: string;
  /** Depends-On changes merged in after `ref`, in order. */
  merges: string[];
  /** The branch merged in before building, or null when built as it is. */
  mergeTrunk: string | null;
  from: 'change' | 'project' | 'custom' | 'depends-on' | 'template';
}

/** Every source the config's jobs build or fetch, with where its branch comes from. Pure. */
export function describeSources(config: Pick<TestConfig, 'branches' | 'dependencies'>, templates: Record<string, readonly SourcePlan[]>): ConfigSourceRow[] {
  const rows = new Map<string, ConfigSourceRow>();
  for (const sources of Object.values(templates)) {
    for (const s of applyDependencies(applyChanges(sources, { branches: config.branches }), config.dependencies ?? [])) {
      const branch = config.branches[s.project];
      const row = rows.get(s.project) ?? {
        project: s.project,
        uses: [],
        url: s.url,
        ref: s.ref,
        merges: (s.merges ?? []).map((m) => m.name),
        mergeTrunk: s.mergeTarget ?? null,
        from: branch ? (branch.origin ?? 'change') : s.changed ? 'depends-on' : 'template',
      };
      const use = `${s.kind} ${s.name}`;
      if (!row.uses.includes(use)) row.uses.push(use);
      rows.set(s.project, row);
    }
  }
  for (const [project, branch] of Object.entries(config.branches)) {
    if (!rows.has(project)) rows.set(project, { project, uses: [], url: branch.url, ref: branch.ref, merges: [], mergeTrunk: branch.mergeTarget ?? null, from: branch.origin ?? 'change' });
  }
  return [...rows.values()];
}
