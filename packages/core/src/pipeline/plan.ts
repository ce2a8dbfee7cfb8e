import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';
import type { GroupDefinition, TemplateDefinition } from '../config/schema.js';
import { loadGroupFile } from '../config/load.js';
import { GIT_SECRETS_HINT, urlCarriesCredentials } from '../config/url-credentials.js';
import type { BranchSource } from '../model.js';
import type { CheckoutSnapshot } from './checkout.js';

/** `--change project=REF`, `--change project=PATH` (a local checkout) or `--change project=URL#REF`. */
export interface ChangeSpec {
  project: string;
  ref?: string;
  url?: string;
  /** A local git checkout whose HEAD replaces the project's source. */
  path?: string;
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
  mergeTarget?: string;
  /** A local checkout (or a plain directory) shipped in the job bundle instead of fetching `url`. */
  localPath?: string;
  /** What of `localPath` is shipped, taken when the run starts (else when the bundle is written). */
  snapshot?: CheckoutSnapshot;
  /** Replaced by a --change or by the test config (the branch under test). */
  changed: boolean;
}

export interface JobPlan {
  template: string;
  definition: TemplateDefinition;
  /** The template's server group (absent when the template names none; runs then need an existing group). */
  group?: GroupDefinition;
  sources: SourcePlan[];
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
 * name a project the template builds or fetches.
 */
export function applyChanges(
  sources: readonly SourcePlan[],
  options: { branches?: Record<string, BranchSource>; changes?: readonly ChangeSpec[]; template?: string },
): SourcePlan[] {
  const out = sources.map((s) => ({ ...s }));
  for (const [project, branch] of Object.entries(options.branches ?? {})) {
    for (const s of out.filter((x) => x.project === project)) {
      s.url = branch.url || s.url;
      s.ref = branch.ref || s.ref;
      // An empty mergeTarget (a baseline) means the ref is tested as it is, never merged.
      if (branch.mergeTarget) s.mergeTarget = branch.mergeTarget;
      else if (branch.mergeTarget === '') delete s.mergeTarget;
      s.changed = true;
    }
  }
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
      if (change.path) {
        s.localPath = change.path;
        s.url = change.path;
        s.ref = 'HEAD';
      } else {
        if (change.url) s.url = change.url;
        if (change.ref) s.ref = change.ref;
        delete s.localPath;
      }
      s.changed = true;
    }
  }
  return out;
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

/** Pure: the job's plan, with the branches under test in place of the template's sources. */
export function assembleJobPlan(name: string, definition: TemplateDefinition, inputs: PlanInputs): JobPlan {
  checkTemplateNames(name, definition);
  // Relative git URLs (./repo) name directories beside the config file.
  const sources = applyChanges(templateSources(definition), { branches: inputs.branches, changes: inputs.changes, template: name }).map((s) =>
    /^\.\.?\//.test(s.url) ? { ...s, url: path.resolve(inputs.baseDir, s.url) } : s,
  );
  return { template: name, definition, ...(inputs.group ? { group: inputs.group } : {}), sources, baseDir: inputs.baseDir };
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
