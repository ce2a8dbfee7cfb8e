import type { GerritFaults } from './types.js';

/** mulberry32: a small seeded PRNG so a fault scenario replays identically for the same seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type FaultDecision = { kind: 'none' } | { kind: 'drop' } | { kind: 'error'; status: 500 | 503 | 429 };

const ERROR_STATUSES = [500, 503, 429] as const;

/** Decides, per REST request, whether to drop it or answer with an error instead of serving it. */
export function decideFault(faults: GerritFaults, random: () => number, method = 'GET'): FaultDecision {
  if (faults.faultMethods && !faults.faultMethods.includes(method)) return { kind: 'none' };
  if ((faults.dropRate ?? 0) > 0 && random() < faults.dropRate!) return { kind: 'drop' };
  if ((faults.errorRate ?? 0) > 0 && random() < faults.errorRate!) {
    const statuses = faults.errorStatuses?.length ? faults.errorStatuses : ERROR_STATUSES;
    return { kind: 'error', status: statuses[Math.floor(random() * statuses.length)]! };
  }
  return { kind: 'none' };
}

export function validateFaults(faults: GerritFaults): GerritFaults {
  for (const key of ['errorRate', 'dropRate'] as const) {
    const v = faults[key];
    if (v !== undefined && !(v >= 0 && v <= 1)) throw new RangeError(`GerritFaults.${key} must be within 0..1, got ${v}`);
  }
  if (faults.sshChunkBytes !== undefined && !(Number.isInteger(faults.sshChunkBytes) && faults.sshChunkBytes > 0)) {
    throw new RangeError(`GerritFaults.sshChunkBytes must be a positive integer, got ${faults.sshChunkBytes}`);
  }
  if (faults.latencyMs !== undefined && !(faults.latencyMs >= 0)) throw new RangeError(`GerritFaults.latencyMs must be >= 0, got ${faults.latencyMs}`);
  return { ...faults };
}
