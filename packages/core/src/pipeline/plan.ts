import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';
import { chooseConfiguration, type Configuration } from '../config/axes.js';
import type { GroupDefinition, TemplateDefinition } from '../config/schema.js';
import { loadGroupFile } from '../config/load.js';
import { GIT_SECRETS_HINT, urlCarriesCredentials } from '../config/url-credentials.js';
import type { BranchSource, Dependency } from '../model.js';
import type { CheckoutSnapshot } from './checkout.js';

/** `--change project=REF`, `--change project=PATH` (a local checkout) or `--change project=URL#REF`. */
export interface ChangeSpec {
  project: string;
  ref?: string;
  url?: string;
  /** A local git checkout whose HEAD replaces the project's source. */
  path?: string;
}

/** Another change merged into a source after its ref: a Depends-On change of the same project, or a second --change. */
export interface SourceMerge {
  /** How messages name it, e.g. "demo/demoapp change 12,3". */
  name: string;
  url: string;
  ref: string;
}

/** Where one source of a job comes from: a package build or a Puppet module fetched from git. */
export interface SourcePlan {
  kind: 'build' | 'module';
  /** Position among the template's builds (or Puppet modules). */
  index: number;
  name: string;
  /** The project a change to this source comes from (`project`, else `name`). */
  project: string;
  url: string;
  ref: string;
  /** Changes merged in after `ref`, in dependency order. */
  merges?: SourceMerge[];
  /** The branch whose tip is merged in last (merge with trunk). */
  mergeTarget?: string;
  /** Where that branch is fetched from when not `url` (a custom branch merges the project's own trunk). */
  mergeUrl?: string;
  /** A local checkout (or a plain directory) shipped in the job bundle instead of fetching `url`. */
  localPath?: string;
  /** What of `localPath` is shipped, taken when the run starts (else when the bundle is written). */
  snapshot?: CheckoutSnapshot;
  /** Replaced by a --change or by the test config (the branch under test). */
  changed: boolean;
  /** The ref is a branch the configuration chose or a Depends-On change's, not the change's own: its absence is not the change's fault. */
  configuredRef?: boolean;
}

export interface JobPlan {
  template: string;
  definition: TemplateDefinition;
  /** The template's server group (absent when the template names none; runs then need an existing group). */
  group?: GroupDefinition;
  sources: SourcePlan[];
  /** The combination of the template's axes the job runs with (empty without axes). */
  configuration: Configuration;
  /** Directory relative paths in the template resolve against (the config file's directory). */
  baseDir: string;
}

const looksLikePath = (value: string): boolean => /^(\/|\.\.?(\/|$)|~\/)/.test(value);

/** Parses one `--change` value; the project may be any string (it is data, never shell). */
export function parseChangeSpec(text: string, cwd = process.cwd(), where = '--change'): ChangeSpec {
  const eq = text.indexOf('=');
  if (eq <= 0 || eq === text.length - 1) {
    throw new UserError(`${where} ${JSON.stringify(text)}: expected PROJECT=REF, PROJECT=PATH or PROJECT=URL#REF`, {
      hint: 'e.g. --change demoapp=refs/changes/45/1045/2',
    });
  }
  const project = text.slice(0, eq);
  const value = text.slice(eq + 1);
  const hash = value.lastIndexOf('#');
  if (hash > 0 && hash < value.length - 1) {
    const url = value.slice(0, hash);
    if (urlCarriesCredentials(url)) throw new UserError(`${where} ${project}=URL#REF: ${GIT_SECRETS_HINT}`);
    return { project, url, ref: value.slice(hash + 1) };
  }
  if (looksLikePath(value)) {
    const resolved = path.resolve(cwd, value.replace(/^~\//, `${process.env.HOME ?? ''}/`));
    if (!fs.existsSync(resolved) || !fs.statSync(resolved).isDirectory()) {
      throw new UserError(`${where} ${project}=${value}: ${resolved} is not a directory`, { hint: 'point at the top of a git working tree' });
    }
    return { project, path: resolved };
  }
  return { project, ref: value };
}

/** The spec as a `--change` argument again (for reproduce). */
export function formatChangeSpec(change: ChangeSpec): string {
  if (change.path) return `${change.project}=${change.path}`;
  if (change.url) return `${change.project}=${change.url}#${change.ref ?? 'HEAD'}`;
  return `${change.project}=${change.ref ?? 'HEAD'}`;
}

/** The template's sources, in order: builds first, then git Puppet modules. */
export function templateSources(template: TemplateDefinition): SourcePlan[] {
  const builds: SourcePlan[] = template.builds.map((b, index) => ({
    kind: 'build',
    index,
    name: b.name,
    project: b.project ?? b.name,
    url: b.url,
    ref: b.ref,
    ...(b.mergeTarget ? { mergeTarget: b.mergeTarget } : {}),
    changed: false,
  }));
  const modules: SourcePlan[] = (template.puppet?.modules ?? []).flatMap((m, index) =>
    m.url ? [{ kind: 'module' as const, index, name: m.name, project: m.project ?? m.name, url: m.url, ref: m.ref, changed: false }] : [],
  );
  return [...builds, ...modules];
}

/**
 * Puts the branches under test in place of the template's defaults: first the test config's
 * branches (projects the template does not use are ignored), then each --change, which must
 * name a project the template builds or fetches; a second --change of a project is merged in after the first.
 */
export function applyChanges(
  sources: readonly SourcePlan[],
  options: { branches?: Record<string, BranchSource>; changes?: readonly ChangeSpec[]; template?: string },
): SourcePlan[] {
  const out = sources.map((s) => ({ ...s }));
  const templateUrl = new Map(out.map((s) => [s, s.url] as const));
  for (const [project, branch] of Object.entries(options.branches ?? {})) {
    for (const s of out.filter((x) => x.project === project)) applyBranch(s, branch);
  }
  const replaced = new Set<SourcePlan>();
  for (const change of options.changes ?? []) {
    const matches = out.filter((x) => x.project === change.project);
    if (matches.length === 0) {
      const known = [...new Set(out.map((s) => s.project))];
      throw new UserError(
        `--change ${JSON.stringify(change.project)}: template ${options.template ?? ''} builds or fetches no project of that name`.replace('  ', ' '),
        { hint: known.length ? `projects: ${known.join(', ')}` : 'the template has no builds or git Puppet modules' },
      );
    }
    for (const s of matches) {
      if (replaced.has(s)) mergeChange(s, change, templateUrl.get(s)!);
      else applyChange(s, change);
      replaced.add(s);
    }
  }
  return out;
}

/** A test config's branch in place of a template source; a custom branch merges the project's own trunk, not its fork's. */
function applyBranch(s: SourcePlan, branch: BranchSource): void {
  const trunkUrl = s.url;
  s.url = branch.url || s.url;
  s.ref = branch.ref || s.ref;
  if (branch.mergeTarget) {
    s.mergeTarget = branch.mergeTarget;
    s.mergeUrl = branch.origin === 'custom' || branch.origin === 'project' ? trunkUrl : s.url;
  } else if (branch.origin || branch.mergeTarget === '') {
    // The config says whether to merge (no target: built as it is); '' (a baseline) never merges.
    delete s.mergeTarget;
    delete s.mergeUrl;
  }
  if (branch.origin === 'custom' || branch.origin === 'project') s.configuredRef = true;
  s.changed = true;
}

function applyChange(s: SourcePlan, change: ChangeSpec): void {
  const trunkUrl = s.mergeUrl ?? s.url;
  if (change.path) {
    s.localPath = change.path;
    s.url = change.path;
    s.ref = 'HEAD';
  } else {
    if (change.url) s.url = change.url;
    if (change.ref) s.ref = change.ref;
    delete s.localPath;
  }
  if (s.mergeTarget && s.url !== trunkUrl) s.mergeUrl = trunkUrl;
  delete s.configuredRef;
  s.changed = true;
}

function mergeChange(s: SourcePlan, change: ChangeSpec, templateUrl: string): void {
  if (change.path) {
    throw new UserError(`--change ${change.project}=${change.path}: a second --change of a project is merged in, so it must be a ref or URL#REF`, {
      hint: 'give the local checkout first, or commit and name its branch',
    });
  }
  // A ref alone names a commit of the project's repository (not of a local checkout shipped in the bundle).
  const url = change.url ?? (s.localPath ? templateUrl : s.url);
  s.merges = [...(s.merges ?? []), { name: `${change.project} ${change.ref ?? 'HEAD'}`, url, ref: change.ref ?? 'HEAD' }];
}

const MODULE_NAME = /^[a-z][a-z0-9_]*$/;
const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]+$/;

/** The template's server group: inline, or a file relative to the config's directory. */
export function resolveGroupDefinition(template: TemplateDefinition, name: string, baseDir: string): GroupDefinition {
  const group = template.group;
  if (group === undefined) {
    throw new UserError(`templates.${name}.group: the template names no server group`, { hint: 'add group: (a file path or an inline definition)' });
  }
  if (typeof group === 'string') return loadGroupFile(path.resolve(baseDir, group));
  return group;
}

export interface PlanInputs {
  /** The config file's directory: relative paths in the template resolve against it. */
  baseDir: string;
  /** The test config's branches under test. */
  branches?: Record<string, BranchSource>;
  changes?: readonly ChangeSpec[];
  /** The template's server group, already loaded (a file named by the template is read at the edge). */
  group?: GroupDefinition;
  /** Axis values (a queued job's combination, or `--axis`); axes not named take their first allowed value. */
  configuration?: Configuration;
  /** The job's Depends-On changes, in dependency order. */
  dependencies?: readonly Dependency[];
}

/** Pure: names the template uses as directories and package names must be safe (the schema cannot check them). */
export function checkTemplateNames(name: string, definition: TemplateDefinition): void {
  for (const [i, m] of (definition.puppet?.modules ?? []).entries()) {
    if (!MODULE_NAME.test(m.name)) {
      throw new UserError(`templates.${name}.puppet.modules[${i}].name: "${m.name}" is not a Puppet module name`, { hint: 'lower-case letters, digits and _' });
    }
    if (m.package && !PACKAGE_NAME.test(m.package)) {
      throw new UserError(`templates.${name}.puppet.modules[${i}].package: "${m.package}" is not a Debian package name`);
    }
  }
}

/** The files a template names (module paths, manifest files) must exist before anything runs. */
export function checkTemplateFiles(name: string, definition: TemplateDefinition, baseDir: string): void {
  for (const [i, m] of (definition.puppet?.modules ?? []).entries()) {
    if (m.path && !fs.existsSync(path.resolve(baseDir, m.path))) {
      throw new UserError(`templates.${name}.puppet.modules[${i}].path: ${path.resolve(baseDir, m.path)} does not exist`);
    }
  }
  for (const [key, value] of Object.entries(definition.puppet?.manifests ?? {})) {
    if (isManifestPath(value) && !fs.existsSync(path.resolve(baseDir, value))) {
      throw new UserError(`templates.${name}.puppet.manifests.${key}: manifest file ${path.resolve(baseDir, value)} does not exist`);
    }
  }
}

/**
 * Depends-On changes in their projects' sources, in dependency order: a source still at the template's
 * default takes the first open one (merged with its branch), a source that already holds a change gets
 * each further one merged in; a merged dependency is taken from its branch. Pure.
 */
export function applyDependencies(sources: readonly SourcePlan[], dependencies: readonly Dependency[]): SourcePlan[] {
  const out = sources.map((s) => ({ ...s }));
  for (const d of dependencies) {
    for (const s of out.filter((x) => x.project === d.project)) {
      if (d.status === 'MERGED') {
        if (!s.changed) Object.assign(s, { url: d.url, ref: d.ref });
      } else if (!s.changed) {
        Object.assign(s, { url: d.url, ref: d.ref, mergeTarget: d.branch, mergeUrl: d.url, changed: true, configuredRef: true });
      } else {
        s.merges = [...(s.merges ?? []), { name: `${d.project} change ${d.number},${d.patchSet}`, url: d.url, ref: d.ref }];
      }
    }
  }
  return out;
}

/** Pure: the job's plan, with the branches under test in place of the template's sources. */
export function assembleJobPlan(name: string, definition: TemplateDefinition, inputs: PlanInputs): JobPlan {
  checkTemplateNames(name, definition);
  const configured = applyDependencies(applyChanges(templateSources(definition), { branches: inputs.branches }), inputs.dependencies ?? []);
  // Relative git URLs (./repo) name directories beside the config file.
  const resolve = (url: string) => (/^\.\.?\//.test(url) ? path.resolve(inputs.baseDir, url) : url);
  const sources = applyChanges(configured, { changes: inputs.changes, template: name }).map((s) => ({
    ...s,
    url: resolve(s.url),
    ...(s.mergeUrl ? { mergeUrl: resolve(s.mergeUrl) } : {}),
    ...(s.merges ? { merges: s.merges.map((m) => ({ ...m, url: resolve(m.url) })) } : {}),
  }));
  const configuration = chooseConfiguration(name, definition, inputs.configuration ?? {});
  return { template: name, definition, ...(inputs.group ? { group: inputs.group } : {}), sources, configuration, baseDir: inputs.baseDir };
}

/** A job's axis values as Puppet facts (`$facts['smokestack_database']`), set through FACTER_ variables. */
export function configurationFacts(configuration: Configuration): Array<{ name: string; value: string }> {
  return Object.entries(configuration).map(([axis, value]) => ({ name: `FACTER_smokestack_${axis}`, value }));
}

/** A job's axis values as its suites see them: `SMOKESTACK_AXIS_DATABASE=postgresql`. */
export function configurationEnv(configuration: Configuration): Array<{ name: string; value: string }> {
  return Object.entries(configuration).map(([axis, value]) => ({ name: `SMOKESTACK_AXIS_${axis.toUpperCase()}`, value }));
}

/** Plans a job at the edge: checks the files the template names and loads its group file, then assembles the plan. */
export function planJob(name: string, definition: TemplateDefinition, inputs: PlanInputs): JobPlan {
  checkTemplateNames(name, definition);
  checkTemplateFiles(name, definition, inputs.baseDir);
  const group = inputs.group ?? (definition.group === undefined ? undefined : resolveGroupDefinition(definition, name, inputs.baseDir));
  const plan = assembleJobPlan(name, definition, { ...inputs, ...(group ? { group } : {}) });
  return { ...plan, sources: plan.sources.map(shipPlainDirectory) };
}

/** A git repository at a path: a checkout (`.git`) or a bare repository. */
export function isGitRepository(dir: string): boolean {
  const has = (entry: string) => fs.existsSync(path.join(dir, entry));
  return has('.git') || (has('HEAD') && has('objects') && has('refs'));
}

/**
 * A source URL naming a directory that is no git repository (the examples' demo project) has no
 * ref to fetch: it is shipped as it is on disk, like a --change PATH.
 */
function shipPlainDirectory(s: SourcePlan): SourcePlan {
  if (s.localPath || !path.isAbsolute(s.url) || !fs.existsSync(s.url) || !fs.statSync(s.url).isDirectory() || isGitRepository(s.url)) return s;
  return { ...s, localPath: s.url, ref: 'HEAD' };
}

/** A manifest value is a file when it is one line ending in .pp; anything else is inline Puppet code. */
export function isManifestPath(value: string): boolean {
  return !value.includes('\n') && value.trim().endsWith('.pp');
}
