import type { TestConfig } from '../model.js';
import type { StateData } from '../store/schema.js';

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
