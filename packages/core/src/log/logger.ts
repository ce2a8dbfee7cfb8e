import type { ListrTask } from 'listr2';
import { maskSecrets } from './secrets.js';
import { printable } from './terminal.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LoggerOptions {
  /** Where lines go; progress never goes to stdout, which is kept for results and --json. */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  verbose?: boolean;
  /** Overrides TTY detection (cron and CI have none). */
  tty?: boolean;
  quiet?: boolean;
  now?: () => Date;
}

/**
 * Progress and diagnostics. On a TTY long work shows as listr2 task lists; without one
 * (cron, CI, pipes) every line is plain and timestamped. Registered secrets are masked
 * in everything this logger prints.
 */
export class Logger {
  readonly tty: boolean;
  private readonly stream: NodeJS.WritableStream;
  private readonly secrets: Set<string>;

  constructor(
    private readonly options: LoggerOptions = {},
    private readonly prefix = '',
    secrets?: Set<string>,
  ) {
    this.stream = options.stream ?? process.stderr;
    this.tty = options.tty ?? Boolean((this.stream as { isTTY?: boolean }).isTTY);
    this.secrets = secrets ?? new Set();
  }

  get verbose(): boolean {
    return Boolean(this.options.verbose);
  }

  /** Never print this value; replaced by *** wherever it appears. */
  addSecret(value: string | undefined): void {
    if (value && value.length >= 4) this.secrets.add(value);
  }

  redact(text: string): string {
    return maskSecrets(text, this.secrets);
  }

  /** What may reach a terminal: secrets masked, escape sequences and control characters removed. */
  clean(text: string): string {
    return printable(this.redact(text));
  }

  child(prefix: string): Logger {
    return new Logger(this.options, this.prefix ? `${this.prefix} ${prefix}` : prefix, this.secrets);
  }

  debug(message: string): void {
    if (this.options.verbose) this.write('debug', message);
  }

  info(message: string): void {
    this.write('info', message);
  }

  warn(message: string): void {
    this.write('warn', message);
  }

  error(message: string): void {
    this.write('error', message);
  }

  private write(level: LogLevel, message: string): void {
    if (this.options.quiet && level !== 'error' && level !== 'warn') return;
    const text = this.clean(message);
    const tag = this.prefix ? `[${this.prefix}] ` : '';
    const mark = level === 'info' ? '' : `${level}: `;
    for (const line of text.split('\n')) {
      if (this.tty) this.stream.write(`${tag}${mark}${line}\n`);
      else this.stream.write(`${(this.options.now ?? (() => new Date()))().toISOString()} ${tag}${mark}${line}\n`);
    }
  }

  /**
   * Runs named steps with visible progress: a listr2 task list on a TTY, plain timestamped
   * start/finish lines otherwise. Steps run in order unless `concurrent`.
   */
  async steps<C extends object>(
    tasks: Array<{ title: string; run: (ctx: C, log: Logger) => Promise<void> | void; skip?: (ctx: C) => boolean }>,
    ctx: C,
    options: { concurrent?: boolean | number; exitOnError?: boolean } = {},
  ): Promise<C> {
    if (!this.tty || this.options.quiet) {
      await this.plainSteps(tasks, ctx, options);
      return ctx;
    }
    const { Listr, ListrLogger, ProcessOutput } = await import('listr2');
    const output = new ProcessOutput(this.stream as NodeJS.WriteStream, this.stream as NodeJS.WriteStream);
    const listrTasks: ListrTask<C>[] = tasks.map((t) => ({
      title: t.title,
      skip: t.skip ? (c: C) => t.skip!(c) : undefined,
      task: async (c, wrapper) => {
        await t.run(c, new TaskLogger(this, (line) => (wrapper.output = line)));
      },
    }));
    const list = new Listr<C>(listrTasks, {
      concurrent: options.concurrent ?? false,
      exitOnError: options.exitOnError ?? true,
      ctx,
      registerSignalListeners: false,
      rendererOptions: { collapseSubtasks: false, logger: new ListrLogger({ processOutput: output }) },
      processOutput: output,
    } as never);
    return list.run();
  }

  /**
   * A live view of a fixed sequence of phases (a pipeline's stages) whose progress is reported
   * from elsewhere: `start(name)` and `end(name, outcome)`. On a TTY it is a listr2 task list and
   * `logger` turns log lines into the running phase's output line (warnings are kept and printed
   * when the board closes); otherwise the board shows nothing and `live` is false, so the caller
   * keeps logging plain lines.
   */
  board(names: readonly string[]): PhaseBoard {
    if (!this.tty || this.options.quiet || this.options.verbose) return new PhaseBoard(this, names);
    return new PhaseBoard(this, names, this.stream as NodeJS.WriteStream);
  }

  private async plainSteps<C extends object>(
    tasks: Array<{ title: string; run: (ctx: C, log: Logger) => Promise<void> | void; skip?: (ctx: C) => boolean }>,
    ctx: C,
    options: { concurrent?: boolean | number; exitOnError?: boolean },
  ): Promise<void> {
    const runOne = async (t: (typeof tasks)[number]): Promise<void> => {
      if (t.skip?.(ctx)) {
        this.info(`- ${t.title} (skipped)`);
        return;
      }
      const started = Date.now();
      this.info(`> ${t.title}`);
      try {
        await t.run(ctx, this.child(t.title));
      } catch (err) {
        this.error(`x ${t.title} failed after ${Date.now() - started} ms: ${(err as Error).message}`);
        throw err;
      }
      this.info(`ok ${t.title} (${Date.now() - started} ms)`);
    };
    if (options.concurrent) {
      const results = await Promise.allSettled(tasks.map(runOne));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed && options.exitOnError !== false) throw failed.reason;
      return;
    }
    for (const t of tasks) {
      try {
        await runOne(t);
      } catch (err) {
        if (options.exitOnError !== false) throw err;
      }
    }
  }
}

export interface PhaseOutcome {
  status: 'passed' | 'failed' | 'skipped';
  message?: string;
  durationMs?: number;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** See `Logger.board()`. */
export class PhaseBoard {
  /** Log through this while the board is up. */
  readonly logger: Logger;
  private readonly started = new Map<string, Deferred<void>>();
  private readonly ended = new Map<string, Deferred<PhaseOutcome>>();
  private readonly warnings: string[] = [];
  private readonly stream?: NodeJS.WriteStream;
  private running?: Promise<unknown>;
  private show: (line: string) => void = () => undefined;

  readonly live: boolean;

  constructor(
    private readonly parent: Logger,
    names: readonly string[],
    stream?: NodeJS.WriteStream,
  ) {
    this.live = Boolean(stream);
    if (!stream) {
      this.logger = parent;
      return;
    }
    // Until the first phase starts there is no board: lines go out as they would without one.
    this.show = (line) => parent.info(line);
    this.logger = new TaskLogger(parent, (line) => this.show(line), (line) => (this.running ? (this.warnings.push(line), this.show(line)) : parent.warn(line)));
    for (const name of names) {
      this.started.set(name, deferred());
      this.ended.set(name, deferred());
    }
    this.stream = stream;
  }

  /** The task list appears with the first phase, so a run refused before it starts shows no board. */
  private launch(): void {
    if (this.running || !this.stream) return;
    this.show = () => undefined;
    const stream = this.stream;
    const parent = this.parent;
    const tasks: ListrTask<object>[] = [...this.ended.keys()].map((name) => ({
      title: name,
      task: async (_ctx, task) => {
        await Promise.race([this.started.get(name)!.promise, this.ended.get(name)!.promise]);
        this.show = (line) => (task.output = line);
        const outcome = await this.ended.get(name)!.promise;
        this.show = () => undefined;
        const took = outcome.durationMs !== undefined ? ` (${(outcome.durationMs / 1000).toFixed(1)}s)` : '';
        const text = `${name}${took}${outcome.message ? ` — ${parent.clean(outcome.message)}` : ''}`;
        task.title = text;
        if (outcome.status === 'skipped') return task.skip(text);
        if (outcome.status === 'failed') throw new Error(text);
      },
    }));
    this.running = (async () => {
      const { Listr, ListrLogger, ProcessOutput } = await import('listr2');
      const output = new ProcessOutput(stream, stream);
      const list = new Listr<object>(tasks, {
        concurrent: false,
        exitOnError: false,
        registerSignalListeners: false,
        rendererOptions: { collapseSubtasks: false, logger: new ListrLogger({ processOutput: output }) },
        processOutput: output,
      } as never);
      await list.run();
    })().catch(() => undefined);
  }

  start(name: string): void {
    this.launch();
    this.started.get(name)?.resolve();
  }

  end(name: string, outcome: PhaseOutcome): void {
    this.launch();
    this.started.get(name)?.resolve();
    this.ended.get(name)?.resolve(outcome);
  }

  /** Ends the board: phases never reached show as skipped; kept warnings are printed. */
  async close(): Promise<void> {
    if (!this.live) return;
    if (this.running) for (const name of this.ended.keys()) this.end(name, { status: 'skipped', message: 'not reached' });
    await this.running;
    for (const line of this.warnings) this.parent.warn(line);
  }
}

/** On a TTY, a step's log lines become the task's live output line instead of scrolling. */
class TaskLogger extends Logger {
  constructor(
    private readonly parent: Logger,
    private readonly show: (line: string) => void,
    private readonly keep?: (line: string) => void,
  ) {
    super({ quiet: true, stream: process.stderr });
  }

  override get verbose(): boolean {
    return this.parent.verbose;
  }

  override info(message: string): void {
    this.show(this.parent.clean(message));
  }

  override warn(message: string): void {
    if (this.keep) this.keep(this.parent.clean(message));
    else this.parent.warn(message);
  }

  override error(message: string): void {
    if (this.keep) this.keep(this.parent.clean(`error: ${message}`));
    else this.parent.error(message);
  }

  override addSecret(value: string | undefined): void {
    this.parent.addSecret(value);
  }

  override redact(text: string): string {
    return this.parent.redact(text);
  }

  override clean(text: string): string {
    return this.parent.clean(text);
  }

  override debug(message: string): void {
    if (this.parent.verbose) this.show(this.parent.clean(message));
  }

  override child(): Logger {
    return this;
  }
}

/** A logger that prints nothing: for library callers and tests that only want results. */
export function silentLogger(): Logger {
  return new Logger({ quiet: true });
}
