import type { SimFiles } from './types.js';
import fs from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { generateSshKeyPair } from '@smokestack/core';
import ssh2 from 'ssh2';
import { SimChecks, type SimCheckUpdate, type SimChecker } from './checks.js';
import { seededRandom, validateFaults } from './faults.js';
import { GitRepos } from './git.js';
import { createRestHandler, sendText } from './rest.js';
import { loadScenario, readScenario, saveScenario } from './scenario.js';
import { SshFrontend, type StreamSession } from './ssh.js';
import { SimState } from './state.js';
import type {
  CommentInput, CreateChangeInput, GerritFaults, GerritSimOptions, GerritUser, SimChange, SimPatchSet, SimReview, UploadPatchSetInput,
} from './types.js';

export type {
  GerritFaults, GerritSimOptions, GerritUser, SimChange, SimPatchSet, SimReview, CreateChangeInput, UploadPatchSetInput, CommentInput,
} from './types.js';

export const DEFAULT_GERRIT_USERS: readonly GerritUser[] = Object.freeze([
  { username: 'smokestack', password: 'secret', name: 'SmokeStack CI', email: 'ci@example.org' },
  { username: 'alice', password: 'alice-secret', name: 'Alice Developer', email: 'alice@example.org' },
]);

interface HostKey { privateKey: string; publicKey: string }

/** Reuses the host key kept in `dir` so a restarted simulator keeps its identity for known_hosts. */
function loadOrCreateHostKey(dir: string): HostKey {
  const file = path.join(dir, 'ssh_host_ed25519_key');
  let privateKey: string;
  if (fs.existsSync(file)) {
    privateKey = fs.readFileSync(file, 'utf8');
  } else {
    privateKey = generateSshKeyPair().private;
    fs.writeFileSync(file, privateKey, { mode: 0o600 });
  }
  const parsed = ssh2.utils.parseKey(privateKey);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error) throw new Error(`Gerrit simulator: unreadable host key ${file}`);
  const publicKey = `${key.type} ${key.getPublicSSH().toString('base64')}`;
  if (!fs.existsSync(`${file}.pub`)) fs.writeFileSync(`${file}.pub`, `${publicKey}\n`);
  return { privateKey, publicKey };
}

/**
 * A Gerrit server in one process: REST (with `)]}'` bodies, Basic auth under /a/, the search language), SSH
 * (stream-events, query, review) and, with `git: true`, real repositories whose refs/changes/NN/N/P hold every patch set.
 */
export class GerritSim {
  readonly sshHost = '127.0.0.1' as const;
  private faults: GerritFaults;
  private readonly random: () => number;
  private readonly streams = new Set<StreamSession>();
  private readonly corruptions = new Map<number, (info: Record<string, unknown>) => unknown>();
  private readonly reviewListeners = new Set<(review: SimReview) => void | Promise<void>>();
  private readonly answerListeners = new Set<(path: string) => void | Promise<void>>();
  private readonly state: SimState;
  /** The checks plugin (GerritSimOptions.checksPlugin). */
  private readonly checksPlugin?: SimChecks;
  private readonly git?: GitRepos;
  private readonly httpServer: http.Server;
  private readonly ssh: SshFrontend;
  private readonly hostKey: HostKey;
  private served = 0;
  private httpPortValue = 0;
  private sshPortValue = 0;
  private stopped = false;

  private constructor(private readonly dir: string, private readonly ownDir: boolean, private readonly options: GerritSimOptions) {
    this.faults = validateFaults(options.faults ?? {});
    this.random = seededRandom(options.seed ?? 1);
    this.hostKey = loadOrCreateHostKey(dir);
    this.git = options.git ? new GitRepos(path.join(dir, 'git')) : undefined;
    this.state = new SimState({
      users: options.users ?? [...DEFAULT_GERRIT_USERS],
      pageCap: options.pageCap ?? 500,
      clock: options.clock ?? (() => new Date()),
      git: this.git,
      publish: (event) => { for (const stream of this.streams) stream.send(event); },
    });
    const clock = options.clock ?? (() => new Date());
    this.checksPlugin = options.checksPlugin ? new SimChecks(clock, (name) => this.state.projects.has(name)) : undefined;
    this.httpServer = http.createServer(createRestHandler({
      state: this.state,
      ...(this.checksPlugin ? { checks: this.checksPlugin } : {}),
      faults: () => this.faults,
      random: () => this.random(),
      countRequest: () => { this.served++; },
      paging: options.paging,
      git: this.git,
      reviewAccepted: async (review) => {
        for (const listener of [...this.reviewListeners]) await listener(review);
      },
      beforeAnswer: async (p) => {
        for (const listener of [...this.answerListeners]) await listener(p);
      },
      corruptedInfo: (number, info) => {
        const corrupt = this.corruptions.get(number);
        return corrupt ? corrupt(info) : info;
      },
      control: options.controlApi ? (req, res, p, body) => this.control(req, res, p, body) : undefined,
    }));
    this.httpServer.keepAliveTimeout = 1000;
    this.ssh = new SshFrontend({ state: this.state, hostKey: this.hostKey.privateKey, faults: () => this.faults, streams: this.streams });
  }

  static async start(options: GerritSimOptions = {}): Promise<GerritSim> {
    const ownDir = !options.dir;
    const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'gerrit-sim-'));
    fs.mkdirSync(dir, { recursive: true });
    const sim = new GerritSim(dir, ownDir, options);
    try {
      await sim.listen();
    } catch (err) {
      await sim.stop();
      throw err;
    }
    return sim;
  }

  private async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.httpServer.once('error', reject);
      this.httpServer.listen(this.options.httpPort ?? 0, '127.0.0.1', () => resolve());
    });
    this.httpPortValue = (this.httpServer.address() as AddressInfo).port;
    this.state.webUrl = this.httpUrl;
    this.sshPortValue = await this.ssh.listen(this.options.sshPort ?? 0);
    const scenario = this.options.dataFile ? readScenario(this.options.dataFile) : undefined;
    if (scenario) loadScenario(this.state, scenario, this.git);
  }

  get httpUrl(): string { return `http://127.0.0.1:${this.httpPortValue}`; }
  get sshPort(): number { return this.sshPortValue; }
  /** 'ssh-ed25519 AAAA...' of the SSH server, for known_hosts pinning */
  get hostPublicKey(): string { return this.hostKey.publicKey; }
  /** REST requests served, faulted ones included */
  get requestCount(): number { return this.served; }
  /** working directory (git repositories, host key) */
  get workDir(): string { return this.dir; }

  gitUrl(project: string): string {
    return this.git ? this.git.url(project) : pathToFileURL(path.join(this.dir, 'git', `${project}.git`)).href;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.options.dataFile) saveScenario(this.state, this.options.dataFile);
    this.streams.clear();
    const httpClosed = this.httpServer.listening ? new Promise<void>((resolve) => this.httpServer.close(() => resolve())) : Promise.resolve();
    this.httpServer.closeAllConnections();
    await Promise.all([httpClosed, this.ssh.close()]);
    if (this.ownDir) fs.rmSync(this.dir, { recursive: true, force: true });
  }

  setFaults(faults: GerritFaults): void {
    this.faults = validateFaults(faults);
    for (const stream of this.streams) stream.freeze(Boolean(this.faults.frozenStream));
  }

  // ------------------------------------------------------------ scenario API

  createProject(name: string, options?: { branch?: string; files?: SimFiles }): void {
    this.state.createProject(name, options);
  }

  createChange(input: CreateChangeInput): SimChange {
    return this.state.createChange(input);
  }

  uploadPatchSet(number: number, input?: UploadPatchSetInput): SimPatchSet {
    return this.state.uploadPatchSet(number, input);
  }

  comment(number: number, input: CommentInput): void {
    this.state.comment(number, input);
  }

  setWip(number: number, wip: boolean): void {
    this.state.setWip(number, wip);
  }

  /** Submits the current patch set (by the owner unless `by` is given). */
  merge(number: number, by?: string): void {
    this.state.merge(number, by);
  }

  abandon(number: number, reason?: string, by?: string): void {
    this.state.abandon(number, reason, by);
  }

  restore(number: number, reason?: string, by?: string): void {
    this.state.restore(number, reason, by);
  }

  emitDroppedOutput(): void {
    this.state.publish('dropped-output');
  }

  killStreams(): void {
    for (const stream of [...this.streams]) stream.kill();
    this.streams.clear();
  }

  /** Number of open stream-events sessions. */
  get streamCount(): number {
    return this.streams.size;
  }

  // ------------------------------------------------------------ inspection

  getChange(number: number): SimChange | undefined {
    return this.state.getChange(number);
  }

  /** Changes, newest number first. */
  listChanges(): SimChange[] {
    return [...this.state.changes.values()].reverse();
  }

  /**
   * Serves change `number` over REST as `corrupt` rewrites its ChangeInfo (anything, `null` included),
   * as a broken or hostile server would; `undefined` serves it normally again.
   */
  corruptChangeInfo(number: number, corrupt: ((info: Record<string, unknown>) => unknown) | undefined): void {
    if (corrupt) this.corruptions.set(number, corrupt);
    else this.corruptions.delete(number);
  }

  /**
   * Calls `listener` each time a REST review was accepted, before Gerrit answers the client, and
   * answers only once it resolves: a test can kill the client right there. Returns the unsubscribe.
   */
  onReview(listener: (review: SimReview) => void | Promise<void>): () => void {
    this.reviewListeners.add(listener);
    return () => this.reviewListeners.delete(listener);
  }

  /**
   * Calls `listener` with the path of each change query or change GET once its answer is computed,
   * and sends that answer only when it resolves: what Gerrit said can go stale in between, as on a
   * slow network. Returns the unsubscribe.
   */
  beforeAnswer(listener: (path: string) => void | Promise<void>): () => void {
    this.answerListeners.add(listener);
    return () => this.answerListeners.delete(listener);
  }

  /** Reviews posted by clients over REST or SSH, oldest first. */
  /** Every check update the checks plugin accepted, in order (empty without the plugin). */
  checkUpdates(number?: number): SimCheckUpdate[] {
    const all = this.checksPlugin?.updates ?? [];
    return number === undefined ? [...all] : all.filter((u) => u.number === number);
  }

  /** The checkers registered with the checks plugin. */
  checkers(): SimChecker[] {
    return [...(this.checksPlugin?.checkers.values() ?? [])].map((c) => ({ ...c }));
  }

  reviews(number?: number): SimReview[] {
    return number === undefined ? [...this.state.reviewLog] : this.state.reviewLog.filter((r) => r.number === number);
  }

  // ------------------------------------------------------------ control API (standalone bin)

  private async control(req: IncomingMessage, res: ServerResponse, route: string, body: () => Promise<string>): Promise<boolean> {
    const reply = (status: number, value: unknown): true => {
      const text = `${JSON.stringify(value ?? { ok: true }, null, 2)}\n`;
      res.writeHead(status, { 'Content-Type': 'application/json' }).end(text);
      return true;
    };
    try {
      const input = req.method === 'POST' ? (JSON.parse((await body()) || '{}') as Record<string, unknown>) : {};
      const date = (v: unknown): Date | undefined => (typeof v === 'string' ? new Date(v) : undefined);
      const m = /^\/changes\/(\d+)\/([a-z-]+)$/.exec(route);
      if (req.method === 'GET' && route === '/state') {
        return reply(200, { httpUrl: this.httpUrl, sshPort: this.sshPort, changes: this.state.changes.size, requestCount: this.requestCount, streams: this.streamCount });
      }
      if (req.method === 'GET' && route === '/reviews') return reply(200, this.reviews());
      if (req.method !== 'POST') return false;
      if (route === '/projects') { this.createProject(String(input.name), input as { branch?: string }); return reply(200, null); }
      if (route === '/changes') return reply(200, this.createChange({ ...(input as unknown as CreateChangeInput), created: date(input.created) }));
      if (route === '/faults') { this.setFaults(input as GerritFaults); return reply(200, null); }
      if (route === '/dropped-output') { this.emitDroppedOutput(); return reply(200, null); }
      if (route === '/kill-streams') { this.killStreams(); return reply(200, null); }
      if (!m) return false;
      const number = Number(m[1]);
      const reason = typeof input.reason === 'string' ? input.reason : undefined;
      const by = typeof input.by === 'string' ? input.by : undefined;
      switch (m[2]) {
        case 'patchsets': return reply(200, this.uploadPatchSet(number, { ...(input as UploadPatchSetInput), created: date(input.created) }));
        case 'comments': this.comment(number, input as unknown as CommentInput); return reply(200, null);
        case 'wip': this.setWip(number, input.wip !== false); return reply(200, null);
        case 'merge': this.merge(number, by); return reply(200, null);
        case 'abandon': this.abandon(number, reason, by); return reply(200, null);
        case 'restore': this.restore(number, reason, by); return reply(200, null);
        default: return false;
      }
    } catch (err) {
      sendText(res, 400, (err as Error).message);
      return true;
    }
  }
}
