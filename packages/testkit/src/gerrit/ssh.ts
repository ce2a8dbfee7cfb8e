import { timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import ssh2, { type AuthContext, type Connection, type ServerChannel } from 'ssh2';
import { SimRequestError } from './errors.js';
import { queryAttribute, type QueryAttributeOptions } from './json.js';
import { QueryError } from './query.js';
import { validateReviewInput } from './rest.js';
import type { ReviewInput, SimState, StreamEvent } from './state.js';
import type { GerritFaults, SimAccount, SimChange, SimPatchSet } from './types.js';

const { Server, utils } = ssh2;

export const STREAM_EVENT_TYPES = new Set([
  'assignee-changed', 'change-abandoned', 'change-deleted', 'change-merged', 'change-restored', 'comment-added',
  'dropped-output', 'hashtags-changed', 'project-created', 'patchset-created', 'ref-updated', 'reviewer-added',
  'reviewer-deleted', 'topic-changed', 'wip-state-changed', 'private-state-changed', 'vote-deleted',
]);

/** One running `gerrit stream-events` session. */
export interface StreamSession {
  username: string;
  /** subscribed event types; null = all */
  types: Set<string> | null;
  send(event: StreamEvent): void;
  /** drops the TCP connection without any SSH goodbye */
  kill(): void;
  /** stop or resume reading the connection (unanswered keepalives) */
  freeze(frozen: boolean): void;
}

export interface SshDeps {
  state: SimState;
  hostKey: string;
  faults(): GerritFaults;
  streams: Set<StreamSession>;
}

/** Splits a command line the way Gerrit's SSH daemon does: whitespace, '…', "…" and backslash escapes. */
export function splitCommandLine(line: string): string[] {
  const args: string[] = [];
  let current = '';
  let inArg = false;
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error('unterminated quote');
      current += line.slice(i + 1, end);
      i = end + 1;
      inArg = true;
    } else if (c === '"') {
      i++;
      while (i < line.length && line[i] !== '"') {
        if (line[i] === '\\' && i + 1 < line.length) { current += line[i + 1]; i += 2; } else { current += line[i]; i++; }
      }
      if (i >= line.length) throw new Error('unterminated quote');
      i++;
      inArg = true;
    } else if (c === '\\' && i + 1 < line.length) {
      current += line[i + 1];
      i += 2;
      inArg = true;
    } else if (/\s/.test(c)) {
      if (inArg) { args.push(current); current = ''; inArg = false; }
      i++;
    } else {
      current += c;
      inArg = true;
      i++;
    }
  }
  if (inArg) args.push(current);
  return args;
}

class CommandFailure extends Error {}

/** Reads `--name value`, `--name=value` and `-n value` options off an argv in Gerrit's args4j style. */
class ArgReader {
  private i = 0;
  constructor(private readonly args: string[]) {}
  next(): string | undefined { return this.args[this.i++]; }
  value(option: string, inline: string | undefined): string {
    if (inline !== undefined) return inline;
    const v = this.args[this.i++];
    if (v === undefined) throw new CommandFailure(`fatal: Option "${option}" takes an operand`);
    return v;
  }
}

function splitOption(arg: string): [string, string | undefined] {
  const eq = arg.indexOf('=');
  return arg.startsWith('--') && eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
}

function intOption(option: string, raw: string): number {
  if (!/^[+-]?\d+$/.test(raw)) throw new CommandFailure(`fatal: "${raw}" is not a valid value for "${option}"`);
  return Number(raw);
}

/** Gerrit's TEXT query format: `key: value` lines, nested objects indented. */
function textLines(value: Record<string, unknown>, indent: string): string {
  return Object.entries(value).map(([key, v]) => {
    if (v === null || typeof v !== 'object') return `${indent}${key}: ${String(v)}\n`;
    const items = Array.isArray(v) ? v : [v];
    return `${indent}${key}:\n` + items.map((item) => (item !== null && typeof item === 'object'
      ? textLines(item as Record<string, unknown>, `${indent}  `)
      : `${indent}  ${String(item)}\n`)).join('');
  }).join('');
}

export class SshFrontend {
  private readonly server: InstanceType<typeof Server>;
  private readonly listener: net.Server;
  private readonly sockets = new Map<string, net.Socket>();

  constructor(private readonly deps: SshDeps) {
    this.server = new Server({ hostKeys: [deps.hostKey], ident: 'GerritCodeReview_3.9.1 (APACHE-SSHD-2.10.0)' }, (client, info) => {
      this.onConnection(client, this.sockets.get(`${info.ip}:${info.port}`));
    });
    this.server.on('error', () => undefined);
    this.listener = net.createServer((socket) => {
      const key = `${socket.remoteAddress}:${socket.remotePort}`;
      this.sockets.set(key, socket);
      socket.on('close', () => this.sockets.delete(key));
      socket.on('error', () => undefined);
      this.server.injectSocket(socket);
    });
  }

  listen(port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.listener.once('error', reject);
      this.listener.listen(port, '127.0.0.1', () => resolve((this.listener.address() as net.AddressInfo).port));
    });
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.listener.close(() => resolve()));
    for (const socket of this.sockets.values()) socket.destroy();
    await closed;
  }

  private onConnection(client: Connection, socket: net.Socket | undefined): void {
    let account: SimAccount | undefined;
    client.on('error', () => undefined);
    client.on('authentication', (ctx) => {
      account = this.authenticate(ctx);
      if (account) ctx.accept(); else ctx.reject(['publickey', 'password']);
    });
    client.on('ready', () => {
      client.on('session', (acceptSession) => {
        const session = acceptSession();
        session.on('pty', (accept) => accept?.());
        session.on('env', (accept) => accept?.());
        session.on('shell', (accept) => {
          const channel = accept();
          channel.stderr.write('\r\n  ****    Welcome to Gerrit Code Review    ****\r\n\r\n  Interactive shells are disabled.\r\n\r\n');
          channel.exit(127);
          channel.end();
        });
        session.on('exec', (accept, _reject, info) => {
          const channel = accept();
          this.runCommand(info.command, account!, channel, socket).catch((err: unknown) => {
            this.finish(channel, 1, '', `fatal: ${(err as Error).message}\n`);
          });
        });
      });
    });
  }

  private authenticate(ctx: AuthContext): SimAccount | undefined {
    const account = this.deps.state.accounts.get(ctx.username);
    if (!account) return undefined;
    if (ctx.method === 'password') return account.password && ctx.password === account.password ? account : undefined;
    if (ctx.method !== 'publickey' || !account.sshPublicKey) return undefined;
    const parsed = utils.parseKey(account.sshPublicKey);
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    if (!key || key instanceof Error) return undefined;
    const expected = key.getPublicSSH();
    if (ctx.key.data.length !== expected.length || !timingSafeEqual(ctx.key.data, expected)) return undefined;
    if (ctx.signature && ctx.blob && key.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) return undefined;
    return account;
  }

  /** Writes output in data packets of `sshChunkBytes` when that fault is set. */
  private write(channel: ServerChannel, text: string): void {
    const bytes = Buffer.from(text);
    const size = this.deps.faults().sshChunkBytes ?? bytes.length;
    for (let at = 0; at < bytes.length; at += size) channel.write(bytes.subarray(at, at + size));
  }

  private finish(channel: ServerChannel, code: number, out: string, err = ''): void {
    if (out) this.write(channel, out);
    if (err) channel.stderr.write(err);
    channel.exit(code);
    channel.end();
  }

  private async runCommand(command: string, account: SimAccount, channel: ServerChannel, socket: net.Socket | undefined): Promise<void> {
    let argv: string[];
    try { argv = splitCommandLine(command); } catch (err) { this.finish(channel, 1, '', `fatal: ${(err as Error).message}\n`); return; }
    if (argv[0] !== 'gerrit') { this.finish(channel, 1, '', `fatal: ${argv[0] ?? ''}: not found\n`); return; }
    const sub = argv[1];
    const args = argv.slice(2);
    try {
      switch (sub) {
        case 'version': this.finish(channel, 0, 'gerrit version 3.9.1\n'); return;
        case 'ls-projects': this.finish(channel, 0, [...this.deps.state.projects.keys()].sort().map((p) => `${p}\n`).join('')); return;
        case 'stream-events': this.streamEvents(args, account, channel, socket); return;
        case 'query': this.query(args, account, channel); return;
        case 'review': await this.review(args, account, channel); return;
        default: this.finish(channel, 1, '', `fatal: gerrit: ${sub ?? ''}: not found\n`);
      }
    } catch (err) {
      if (err instanceof CommandFailure) this.finish(channel, 1, '', `${err.message}\n`);
      else throw err;
    }
  }

  private streamEvents(args: string[], account: SimAccount, channel: ServerChannel, socket: net.Socket | undefined): void {
    if (!account.streamEvents) {
      this.finish(channel, 1, '', `fatal: ${account.username} does not have "Stream Events" capability.\n`);
      return;
    }
    const reader = new ArgReader(args);
    let types: Set<string> | null = null;
    for (let arg = reader.next(); arg !== undefined; arg = reader.next()) {
      const [name, inline] = splitOption(arg);
      if (name === '-s' || name === '--subscribe') {
        const type = reader.value(name, inline);
        if (!STREAM_EVENT_TYPES.has(type)) throw new CommandFailure(`fatal: Unsupported event type: ${type}`);
        (types ??= new Set()).add(type);
      } else {
        throw new CommandFailure(`fatal: "${arg}" is not a valid option`);
      }
    }
    const streams = this.deps.streams;
    const stream: StreamSession = {
      username: account.username,
      types,
      send: (event) => {
        const faults = this.deps.faults();
        if (faults.silentStream || faults.frozenStream) return;
        if (stream.types && event.type !== 'dropped-output' && !stream.types.has(event.type)) return;
        if (channel.writable) this.write(channel, `${JSON.stringify(event)}\n`);
      },
      kill: () => { if (socket) socket.destroy(); else channel.destroy(); },
      freeze: (frozen) => { if (frozen) socket?.pause(); else socket?.resume(); },
    };
    streams.add(stream);
    channel.on('close', () => streams.delete(stream));
    // A client that ends its connection does not always close the channel first.
    socket?.once('close', () => streams.delete(stream));
    if (this.deps.faults().frozenStream) stream.freeze(true);
  }

  private query(args: string[], account: SimAccount, channel: ServerChannel): void {
    const reader = new ArgReader(args);
    const opts: QueryAttributeOptions = {};
    let format = 'TEXT';
    let start = 0;
    let limit: number | undefined;
    const terms: string[] = [];
    for (let arg = reader.next(); arg !== undefined; arg = reader.next()) {
      const [name, inline] = splitOption(arg);
      switch (name) {
        case '--format': format = reader.value(name, inline).toUpperCase(); break;
        case '--current-patch-set': opts.currentPatchSet = true; break;
        case '--patch-sets': opts.patchSets = true; break;
        case '--all-approvals': opts.allApprovals = true; break;
        case '--comments': opts.comments = true; break;
        case '--start': case '-S': start = intOption(name, reader.value(name, inline)); break;
        case '--limit': limit = intOption(name, reader.value(name, inline)); break;
        case '--commit-message': case '--files': case '--dependencies': case '--submit-records': case '--all-reviewers': case '--no-limit': break;
        default:
          if (name.startsWith('--')) throw new CommandFailure(`fatal: "${arg}" is not a valid option`);
          terms.push(arg);
      }
    }
    if (format !== 'JSON' && format !== 'TEXT') throw new CommandFailure(`fatal: "${format}" is not a valid value for "--format"`);
    const started = Date.now();
    let result: { changes: SimChange[]; more: boolean };
    try {
      result = this.deps.state.search(terms.join(' '), { start, limit, self: account.username });
    } catch (err) {
      if (!(err instanceof QueryError)) throw err;
      const error = { type: 'error', message: err.message };
      this.finish(channel, 1, format === 'JSON' ? `${JSON.stringify(error)}\n` : `Error: ${err.message}\n`);
      return;
    }
    const ctx = this.deps.state.renderContext();
    const stats = { type: 'stats', rowCount: result.changes.length, runTimeMilliseconds: Date.now() - started, moreChanges: result.more };
    const rows = result.changes.map((c) => queryAttribute(c, ctx, opts));
    const out = format === 'JSON'
      ? [...rows, stats].map((r) => `${JSON.stringify(r)}\n`).join('')
      : rows.map((r) => `change ${String(r.id)}\n${textLines(r, '  ')}\n`).join('') + textLines(stats, '');
    this.finish(channel, 0, out);
  }

  private async review(args: string[], account: SimAccount, channel: ServerChannel): Promise<void> {
    const parsed = parseReviewArgs(args);
    const review = parsed.json ? await reviewFromStdin(channel) : parsed.input;
    const errors: string[] = [];
    for (const target of parsed.targets) {
      const found = this.resolveTarget(target, parsed.project);
      if (!found) {
        errors.push(`error: "${target}" no such patch set`);
        continue;
      }
      try {
        this.applyReview(found[0], found[1], account, review, parsed.action);
      } catch (err) {
        if (!(err instanceof SimRequestError)) throw err;
        errors.push(`error: ${err.message}`);
      }
    }
    if (errors.length) {
      this.finish(channel, 1, '', `${errors.join('\n')}\nfatal: one or more reviews failed; review output above\n`);
      return;
    }
    this.finish(channel, 0, '');
  }

  private applyReview(change: SimChange, ps: SimPatchSet, account: SimAccount, review: ReviewInput, action: ReviewAction | undefined): void {
    const state = this.deps.state;
    if (review.message || review.labels) state.postReview(change, ps, account.username, review, 'ssh');
    if (action === 'abandon') {
      if (change.status !== 'NEW') throw new SimRequestError(409, 'change is closed');
      state.abandon(change.number, review.message, account.username);
    } else if (action === 'restore') {
      if (change.status !== 'ABANDONED') throw new SimRequestError(409, 'change is not abandoned');
      state.restore(change.number, review.message, account.username);
    } else if (action === 'submit') {
      if (change.status !== 'NEW') throw new SimRequestError(409, 'change is closed');
      state.merge(change.number, account.username);
    }
  }

  private resolveTarget(target: string, project: string | undefined): [SimChange, SimPatchSet] | undefined {
    const state = this.deps.state;
    const pair = /^(\d+),(\d+)$/.exec(target);
    if (pair) {
      const change = state.getChange(Number(pair[1]));
      const ps = change?.patchSets.find((p) => p.number === Number(pair[2]));
      return change && ps && (!project || change.project === project) ? [change, ps] : undefined;
    }
    if (/^[0-9a-f]{4,40}$/i.test(target)) {
      const pool = project ? state.changesOfProject(project) : state.changes.values();
      for (const change of pool) {
        const ps = change.patchSets.find((p) => p.revision.startsWith(target.toLowerCase()));
        if (ps) return [change, ps];
      }
    }
    return undefined;
  }
}

function readAll(channel: ServerChannel): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    channel.on('data', (c: Buffer) => chunks.push(c));
    channel.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    channel.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

type ReviewAction = 'abandon' | 'restore' | 'submit';

/** `gerrit review` options as Gerrit's SSH command reads them. */
function parseReviewArgs(args: string[]): { input: ReviewInput; json: boolean; action?: ReviewAction; project?: string; targets: string[] } {
  const reader = new ArgReader(args);
  const input: ReviewInput = {};
  const labels: Record<string, number> = {};
  let json = false;
  let action: ReviewAction | undefined;
  let project: string | undefined;
  const targets: string[] = [];
  for (let arg = reader.next(); arg !== undefined; arg = reader.next()) {
    const [name, inline] = splitOption(arg);
    switch (name) {
      case '-m': case '--message': input.message = reader.value(name, inline); break;
      case '-t': case '--tag': input.tag = reader.value(name, inline); break;
      case '-n': case '--notify': input.notify = reader.value(name, inline); break;
      case '-l': case '--label': {
        const spec = reader.value(name, inline);
        const eq = spec.lastIndexOf('=');
        if (eq <= 0) throw new CommandFailure(`fatal: "${spec}" is not a valid value for "--label"`);
        labels[spec.slice(0, eq)] = intOption(name, spec.slice(eq + 1));
        break;
      }
      case '--verified': labels.Verified = intOption(name, reader.value(name, inline)); break;
      case '--code-review': labels['Code-Review'] = intOption(name, reader.value(name, inline)); break;
      case '-j': case '--json': json = true; break;
      case '--abandon': action = 'abandon'; break;
      case '--restore': action = 'restore'; break;
      case '-s': case '--submit': action = 'submit'; break;
      case '-p': case '--project': project = reader.value(name, inline); break;
      case '-b': case '--branch': reader.value(name, inline); break;
      default:
        if (name.startsWith('-') && !/^\d/.test(name)) throw new CommandFailure(`fatal: "${arg}" is not a valid option`);
        targets.push(arg);
    }
  }
  if (Object.keys(labels).length) input.labels = labels;
  if (targets.length === 0) throw new CommandFailure('fatal: Argument "{COMMIT | CHANGE,PATCHSET}" is required');
  return { input, json, action, project, targets };
}

/** The ReviewInput `gerrit review --json` reads from stdin. */
async function reviewFromStdin(channel: ServerChannel): Promise<ReviewInput> {
  const text = await readAll(channel);
  let parsed: unknown;
  try { parsed = JSON.parse(text); } catch { throw new CommandFailure('fatal: Invalid JSON input on stdin'); }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new CommandFailure('fatal: Expected a JSON object on stdin');
  try { return { ...validateReviewInput(parsed as Record<string, unknown>) }; } catch (err) { throw new CommandFailure(`fatal: ${(err as Error).message}`); }
}
