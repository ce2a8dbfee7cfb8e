import { errorMessage, isUserError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { backoffWithJitter, sleep, type BackoffOptions } from '../net/retry.js';
import { parseStreamEvent } from './events.js';
import type { SshConnection } from '../ssh/connection.js';
import { connectSsh, gerritSshWord, type GerritSshOptions } from './ssh.js';
import type { SshStreamEvent } from './wire.js';

export interface EventStreamOptions {
  ssh: GerritSshOptions;
  /** No data for this long means a half-open session: reconnect. */
  silenceMs: number;
  backoff?: BackoffOptions;
  /** A session that lived this long resets the backoff. */
  stableMs?: number;
  /** `-s TYPE` filters; all events when empty. */
  types?: string[];
  logger?: Logger;
  random?: () => number;
}

export interface EventStreamHandlers {
  /** Runs after every (re)connect before any event of that session; a throw ends the session to retry later. */
  onConnect?: () => Promise<void> | void;
  onEvent: (event: SshStreamEvent, receivedAt: Date) => Promise<void> | void;
  /** Runs after a session ended (or could not start), with why; also when the stream is stopped. */
  onDisconnect?: (reason: string) => Promise<void> | void;
}

export interface EventStreamStats {
  connects: number;
  disconnects: number;
  events: number;
  lastDisconnect?: string;
}

/**
 * `gerrit stream-events` that never gives up: keepalives, a silence watchdog, reconnects with
 * exponential backoff and jitter, and a hook on every connect for the catch-up sweep. Events are
 * handled one at a time, in order. Aborting the signal lets the current handler finish, then returns.
 */
export class GerritEventStream {
  readonly stats: EventStreamStats = { connects: 0, disconnects: 0, events: 0 };
  private readonly backoff: BackoffOptions;

  constructor(private readonly options: EventStreamOptions) {
    this.backoff = options.backoff ?? { baseMs: 1000, maxMs: 60_000 };
  }

  async run(handlers: EventStreamHandlers, signal: AbortSignal): Promise<EventStreamStats> {
    let attempt = 0;
    while (!signal.aborted) {
      const started = Date.now();
      let reason: string;
      try {
        reason = await this.session(handlers, signal);
      } catch (err) {
        // Refused host keys and bad credentials do not heal by retrying.
        if (isUserError(err)) throw err;
        reason = errorMessage(err);
      }
      try {
        await handlers.onDisconnect?.(signal.aborted ? 'stopped' : reason);
      } catch (err) {
        this.options.logger?.warn(`gerrit stream: after the disconnect: ${errorMessage(err)}`);
      }
      if (signal.aborted) break;
      this.stats.disconnects++;
      this.stats.lastDisconnect = reason;
      if (Date.now() - started >= (this.options.stableMs ?? 60_000)) attempt = 0;
      const delay = backoffWithJitter(attempt++, this.backoff, this.options.random);
      this.options.logger?.warn(`gerrit stream: ${reason}; reconnecting in ${delay} ms`);
      await sleep(delay, signal);
    }
    return this.stats;
  }

  /** One connection; resolves with why it ended once its queued events are handled. */
  private async session(handlers: EventStreamHandlers, signal: AbortSignal): Promise<string> {
    const conn = await connectSsh(this.options.ssh, signal);
    this.stats.connects++;
    this.options.logger?.info(`gerrit stream: connected to ${this.options.ssh.host}:${this.options.ssh.port}`);
    const session = new StreamSession(conn, signal, this.options.silenceMs);
    if (handlers.onConnect) session.enqueue(() => this.catchUp(handlers.onConnect!, session));
    const lines = textLines((line) => this.receive(line, handlers, session));
    const words = ['gerrit', 'stream-events', ...(this.options.types ?? []).flatMap((t) => ['-s', t])];
    let stderr = '';
    const run = conn.exec(words.map(gerritSshWord).join(' '), {
      signal: session.channelSignal,
      onStdout: (text) => {
        session.heard();
        lines(text);
      },
      onStderr: (text) => (stderr += text),
    });
    run.then(
      (result) => session.finish(exitReason(result.code, stderr)),
      (err: unknown) => session.finish(conn.closed ? 'connection closed' : `stream closed by the server (${errorMessage(err)})`),
    );
    return session.ended;
  }

  /** The catch-up sweep of a new session; when it fails the session ends, to be retried on the next connect. */
  private async catchUp(onConnect: () => Promise<void> | void, session: StreamSession): Promise<void> {
    try {
      await onConnect();
    } catch (err) {
      if (isUserError(err)) this.options.logger?.error(`gerrit stream: catch-up sweep: ${errorMessage(err)}`);
      session.finish(`catch-up sweep failed: ${errorMessage(err)}`);
    }
  }

  /** One line of the stream: an event is handled after those before it, unless the catch-up failed. */
  private receive(line: string, handlers: EventStreamHandlers, session: StreamSession): void {
    if (session.reason !== undefined) return;
    const event = parseStreamEvent(line);
    if (!event) return;
    this.stats.events++;
    const receivedAt = new Date();
    session.enqueue(async () => {
      if (session.reason?.startsWith('catch-up')) return;
      try {
        await handlers.onEvent(event, receivedAt);
      } catch (err) {
        this.options.logger?.warn(`gerrit stream: ${event.type}: ${errorMessage(err)}`);
      }
    });
  }
}

/** Why `stream-events` exited, with a hint when the account lacks the capability. */
function exitReason(code: number, stderr: string): string {
  const why = stderr.trim().split('\n')[0];
  const hint = /capabilit|not permitted|streamEvents/i.test(stderr) ? ' (the account needs the Stream Events capability)' : '';
  return `stream-events exited with ${code}${why ? `: ${why}` : ''}${hint}`;
}

/** Calls `onLine` with each whole line of text that arrives in pieces. */
function textLines(onLine: (line: string) => void): (text: string) => void {
  let rest = '';
  return (text) => {
    const parts = (rest + text).split('\n');
    rest = parts.pop()!;
    for (const line of parts) onLine(line);
  };
}

/**
 * The life of one stream-events connection: its handlers run one at a time in order, a watchdog
 * ends it after `silenceMs` without data, and it ends once (stop, exit, silence, lost connection)
 * — `ended` resolves with why after the events already queued are handled.
 */
class StreamSession {
  reason: string | undefined;
  readonly ended: Promise<string>;
  private readonly channel = new AbortController();
  private chain: Promise<void> = Promise.resolve();
  private watchdog?: NodeJS.Timeout;
  private resolveEnded!: (reason: string) => void;
  private readonly onAbort = (): void => this.finish('stopped');

  constructor(
    private readonly conn: SshConnection,
    private readonly signal: AbortSignal,
    private readonly silenceMs: number,
  ) {
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
    signal.addEventListener('abort', this.onAbort, { once: true });
    conn.onClose(() => this.finish('connection closed'));
    this.heard();
  }

  get channelSignal(): AbortSignal {
    return this.channel.signal;
  }

  /** Data arrived: the stream is alive. */
  heard(): void {
    if (this.reason !== undefined) return;
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => this.finish(`no data for ${Math.round(this.silenceMs / 1000)} s (half-open stream?)`), this.silenceMs);
  }

  enqueue(task: () => Promise<void> | void): void {
    this.chain = this.chain.then(async () => {
      if (this.signal.aborted) return;
      await task();
    });
  }

  finish(reason: string): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    if (this.watchdog) clearTimeout(this.watchdog);
    this.signal.removeEventListener('abort', this.onAbort);
    this.channel.abort();
    void this.conn.close();
    // Events already received are still handled, unless we are stopping.
    void this.chain.then(() => this.resolveEnded(reason));
  }
}
