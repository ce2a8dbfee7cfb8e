import type { Client, ClientChannel } from 'ssh2';
import { InfraError, errorMessage, isUserError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { backoffWithJitter, sleep, type BackoffOptions } from './backoff.js';
import { parseStreamEvent } from './events.js';
import { byteLines, connectSsh, gerritSshWord, type GerritSshOptions } from './ssh.js';
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
    const client: Client = await connectSsh(this.options.ssh, signal);
    const words = ['gerrit', 'stream-events', ...(this.options.types ?? []).flatMap((t) => ['-s', t])];
    let channel: ClientChannel;
    try {
      channel = await new Promise<ClientChannel>((resolve, reject) =>
        client.exec(words.map(gerritSshWord).join(' '), (err: Error | undefined, ch: ClientChannel) => (err ? reject(new InfraError(`gerrit stream-events: ${errorMessage(err)}`)) : resolve(ch))),
      );
    } catch (err) {
      client.end();
      throw err;
    }
    this.stats.connects++;
    this.options.logger?.info(`gerrit stream: connected to ${this.options.ssh.host}:${this.options.ssh.port}`);

    return new Promise<string>((resolve) => {
      let ended: string | undefined;
      let stderr = '';
      let chain: Promise<void> = Promise.resolve();
      let watchdog: NodeJS.Timeout | undefined;

      const finish = (reason: string): void => {
        if (ended !== undefined) return;
        ended = reason;
        if (watchdog) clearTimeout(watchdog);
        signal.removeEventListener('abort', onAbort);
        channel.removeAllListeners('data');
        client.end();
        // Events already received are still handled, unless we are stopping.
        void chain.then(() => resolve(reason));
      };
      const armWatchdog = (): void => {
        if (watchdog) clearTimeout(watchdog);
        watchdog = setTimeout(() => finish(`no data for ${Math.round(this.options.silenceMs / 1000)} s (half-open stream?)`), this.options.silenceMs);
      };
      const enqueue = (task: () => Promise<void> | void): void => {
        chain = chain.then(async () => {
          if (signal.aborted) return;
          await task();
        });
      };
      const onAbort = (): void => finish('stopped');
      signal.addEventListener('abort', onAbort, { once: true });

      if (handlers.onConnect) {
        enqueue(async () => {
          try {
            await handlers.onConnect!();
          } catch (err) {
            if (isUserError(err)) this.options.logger?.error(`gerrit stream: catch-up sweep: ${errorMessage(err)}`);
            finish(`catch-up sweep failed: ${errorMessage(err)}`);
          }
        });
      }
      armWatchdog();
      const lines = byteLines((line) => {
        const event = parseStreamEvent(line);
        if (!event) return;
        this.stats.events++;
        const receivedAt = new Date();
        enqueue(async () => {
          if (ended !== undefined && ended.startsWith('catch-up')) return;
          try {
            await handlers.onEvent(event, receivedAt);
          } catch (err) {
            this.options.logger?.warn(`gerrit stream: ${event.type}: ${errorMessage(err)}`);
          }
        });
      });
      channel.on('data', (data: Buffer) => {
        armWatchdog();
        lines(data);
      });
      channel.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
      channel.on('exit', (code: number | null) => {
        const why = stderr.trim().split('\n')[0];
        const hint = /capabilit|not permitted|streamEvents/i.test(stderr) ? ' (the account needs the Stream Events capability)' : '';
        finish(`stream-events exited with ${code}${why ? `: ${why}` : ''}${hint}`);
      });
      channel.on('close', () => finish('stream closed by the server'));
      client.on('error', (err: Error) => finish(`connection error: ${errorMessage(err)}`));
      client.on('close', () => finish('connection closed'));
    });
  }
}
