import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GerritSim, type GerritSimOptions, type SimFiles } from '@smokestack/testkit';
import { ConfigSchema } from '../../src/config/schema.js';
import type { LoadedConfig } from '../../src/config/load.js';
import { createBellowsContext, type BellowsContext } from '../../src/bellows/context.js';
import { StateStore } from '../../src/store/store.js';
import { generateSshKeyPair } from '../../src/ssh/keys.js';

/** An ed25519 client key for the bot, written 0600 into `dir`. */
export function writeClientKey(dir: string): string {
  const pair = generateSshKeyPair();
  const file = path.join(dir, 'id_ed25519');
  fs.writeFileSync(file, pair.private, { mode: 0o600 });
  fs.writeFileSync(`${file}.pub`, `${pair.public}\n`);
  return file;
}

/** The simulator's default users, the bot with the SSH key of `identityFile`. */
export function simUsers(identityFile: string) {
  const sshPublicKey = fs.readFileSync(`${identityFile}.pub`, 'utf8').trim();
  return [
    { username: 'smokestack', password: 'secret', name: 'SmokeStack CI', email: 'ci@example.org', sshPublicKey },
    { username: 'alice', password: 'alice-secret', name: 'Alice Developer', email: 'alice@example.org', sshPublicKey },
  ];
}

export interface Harness {
  sim: GerritSim;
  dir: string;
  store: StateStore;
  loaded: LoadedConfig;
  ctx: BellowsContext;
  stop(): Promise<void>;
}

export interface HarnessOptions {
  sim?: GerritSimOptions;
  /** `files`: the project's first commit (default: a README). */
  projects?: Array<{ name: string; branch?: string; templates?: string[]; files?: SimFiles }>;
  templates?: Record<string, { autoApprove?: boolean; maxInfraRetries?: number }>;
  gerrit?: Record<string, unknown>;
}

/** A Gerrit simulator, a temp state store and a bellows context wired to them. */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bellows-'));
  const identityFile = writeClientKey(dir);
  const sim = await GerritSim.start({ users: simUsers(identityFile), ...options.sim });
  const projects = options.projects ?? [{ name: 'nova', templates: ['smoke', 'full'] }];
  const templates = options.templates ?? { smoke: {}, full: {} };
  const config = ConfigSchema.parse({
    gerrit: {
      url: sim.httpUrl,
      username: 'smokestack',
      gitUrl: sim.gitUrl('PROJECT').replace('PROJECT', '{project}'),
      settleSeconds: 0,
      retries: 8,
      ssh: { host: sim.sshHost, port: sim.sshPort, hostKey: sim.hostPublicKey, identityFile, keepaliveSeconds: 1, silenceSeconds: 2 },
      ...options.gerrit,
    },
    projects: projects.map(({ files: _files, ...p }) => p),
    templates,
  });
  for (const p of projects) sim.createProject(p.name, { branch: p.branch, ...(p.files ? { files: p.files } : {}) });
  const loaded: LoadedConfig = { dir, config, path: path.join(dir, 'smokestack.yaml') };
  const store = new StateStore(path.join(dir, 'state.json'));
  const ctx = createBellowsContext({ loaded, store, password: 'secret', backoff: { baseMs: 2, maxMs: 20 } });
  return {
    sim,
    dir,
    store,
    loaded,
    ctx,
    async stop() {
      await sim.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Finishes every queued/running job matching `filter` with a status and summary (as a worker would). */
export async function finishJobs(
  store: StateStore,
  status: import('../../src/model.js').JobStatus,
  filter: (job: import('../../src/model.js').Job) => boolean = () => true,
  fields: Partial<import('../../src/model.js').Job> = {},
): Promise<string[]> {
  return store.update((state) => {
    const done: string[] = [];
    for (const job of Object.values(state.jobs)) {
      if ((job.status !== 'queued' && job.status !== 'running') || !filter(job)) continue;
      Object.assign(job, { status, finishedAt: new Date().toISOString(), summary: { tests: 10, failures: status === 'test_failed' ? 1 : 0, errors: 0, skipped: 1, durationMs: 65_000 } }, fields);
      done.push(job.id);
    }
    return done;
  });
}
