import { faultPolicies, type SmokestackConfig } from '../config/schema.js';
import type { FlakyTest } from '../results/history.js';
import type { Store } from '../store/types.js';

export interface FlakyListOptions {
  project?: string;
  /** Look back this many days (default: the config's flaky.windowDays). */
  days?: number;
  now: Date;
}

export interface FlakyList {
  since: string;
  tests: FlakyTest[];
}

/** `bellows tests flaky`: tests that both passed and failed on one revision set within the window, most recently seen first. */
export async function listFlakyTests(store: Store, config: Pick<SmokestackConfig, 'flaky' | 'baseline'>, options: FlakyListOptions): Promise<FlakyList> {
  const days = options.days ?? faultPolicies(config).flaky.windowDays;
  const since = new Date(options.now.getTime() - days * 86_400_000);
  const tests = await store.flakyTests({ ...(options.project ? { project: options.project } : {}), since });
  return { since: since.toISOString(), tests };
}
