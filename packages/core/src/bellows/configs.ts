import path from 'node:path';
import { resolveTemplate, type LoadedConfig } from '../config/load.js';
import { UserError } from '../errors.js';
import type { TestConfig } from '../model.js';
import { templateSources, type SourcePlan } from '../pipeline/plan.js';
import type { StateData } from '../store/schema.js';
import type { Store } from '../store/types.js';
import { bellowsSettings, findTarget, type ProjectTarget } from './settings.js';
import { describeSources, editCustomSources, effectiveBranches, parseSourceSpec, type ConfigSourceRow } from './sources.js';

export interface ConfigFilter {
  project?: string[];
}

/** Test configs ordered by project, then change number. */
export function listConfigs(state: StateData, filter: ConfigFilter = {}): TestConfig[] {
  return Object.values(state.configs)
    .filter((c) => !filter.project || filter.project.includes(c.project))
    .sort((a, b) => (a.project === b.project ? a.number - b.number : a.project < b.project ? -1 : 1));
}

/** The store key of a change's test config. */
export function configIdFor(project: string, number: number): string {
  return `${project}~${number}`;
}

/** A test config by id (`project~number`) or by change number; a one-line error says how to find one. */
export function findConfig(state: StateData, id: string): TestConfig {
  const byId = state.configs[id];
  if (byId) return byId;
  const matches = /^\d+$/.test(id) ? Object.values(state.configs).filter((c) => c.number === Number(id)) : [];
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) throw new UserError(`test config ${id}: changes of several projects have that number`, { hint: `name one: ${matches.map((c) => c.id).join(', ')}` });
  throw new UserError(`test config ${id}: not found`, { hint: 'list them with: bellows configs list' });
}

/** What the configs commands work with. */
export interface ConfigsContext {
  store: Store;
  loaded: LoadedConfig;
  now: () => Date;
}

export interface ConfigView {
  config: TestConfig;
  /** Every source the config's jobs build or fetch, and where its branch comes from. */
  sources: ConfigSourceRow[];
}

/** The sources of each of the config's templates (relative URLs resolved as a job resolves them). */
function sourcesOfTemplates(loaded: LoadedConfig, names: readonly string[]): Record<string, SourcePlan[]> {
  return Object.fromEntries(
    names.map((name) => [name, templateSources(resolveTemplate(loaded, name)).map((s) => (/^\.\.?\//.test(s.url) ? { ...s, url: path.resolve(loaded.dir, s.url) } : s))]),
  );
}

function viewOf(loaded: LoadedConfig, config: TestConfig): ConfigView {
  return { config, sources: describeSources(config, sourcesOfTemplates(loaded, config.templates)) };
}

/** `bellows configs show ID`. */
export async function showConfig(ctx: ConfigsContext, id: string): Promise<ConfigView> {
  return viewOf(ctx.loaded, findConfig(await ctx.store.read(), id));
}

/** The project settings a config was made with (its own source's URL when the project is no longer configured). */
function targetOf(config: TestConfig, projects: readonly ProjectTarget[]): Pick<ProjectTarget, 'url' | 'mergeTrunk' | 'sources'> {
  return findTarget([...projects], config.project, config.branch) ?? { url: config.branches[config.project]?.url ?? '', mergeTrunk: true };
}

/** Recomputes a config's branches from its change, its project's settings and what was set by hand. */
function rebuildBranches(config: TestConfig, projects: readonly ProjectTarget[], now: Date): void {
  config.branches = effectiveBranches({ project: config.project, branch: config.branch, ref: config.ref }, targetOf(config, projects), config.custom);
  if (!config.custom || Object.keys(config.custom).length === 0) delete config.custom;
  config.updatedAt = now.toISOString();
}

/**
 * `bellows configs set ID --source PROJECT=URL#REF [--merge-trunk|--no-merge-trunk]`: the sources set by
 * hand survive later syncs; jobs that start from now on use them.
 */
export async function setConfigSources(ctx: ConfigsContext, id: string, edit: { sources: string[]; mergeTrunk?: boolean }): Promise<ConfigView> {
  if (edit.sources.length === 0) throw new UserError('--source: nothing to set', { hint: 'e.g. --source openstack/glance=https://git.example.org/glance#quota-fix' });
  const specs = edit.sources.map(parseSourceSpec);
  const { projects } = bellowsSettings(ctx.loaded);
  const config = await ctx.store.update((state) => {
    const found = findConfig(state, id);
    const all = Object.values(sourcesOfTemplates(ctx.loaded, found.templates)).flat();
    found.custom = editCustomSources(found, all, { specs, ...(edit.mergeTrunk !== undefined ? { mergeTrunk: edit.mergeTrunk } : {}) });
    rebuildBranches(found, projects, ctx.now());
    return structuredClone(found);
  });
  return viewOf(ctx.loaded, config);
}

/** `bellows configs reset ID [--source PROJECT]`: back to the change's and the project's sources. */
export async function resetConfigSources(ctx: ConfigsContext, id: string, only: string[] = []): Promise<ConfigView> {
  const { projects } = bellowsSettings(ctx.loaded);
  const config = await ctx.store.update((state) => {
    const found = findConfig(state, id);
    for (const project of only) {
      if (!found.custom?.[project]) throw new UserError(`--source ${project}: ${found.id} has no source of ${project} set by hand`, { hint: 'see: bellows configs show ' + found.id });
    }
    if (only.length === 0) delete found.custom;
    else for (const project of only) delete found.custom![project];
    rebuildBranches(found, projects, ctx.now());
    return structuredClone(found);
  });
  return viewOf(ctx.loaded, config);
}
