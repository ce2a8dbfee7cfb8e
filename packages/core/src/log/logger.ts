import { Listr, ListrLogger, ProcessOutput, type ListrTask } from 'listr2';

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
    let out = text;
    for (const secret of this.secrets) out = out.split(secret).join('***');
    return out;
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
    const text = this.redact(message);
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

/** On a TTY, a step's log lines become the task's live output line instead of scrolling. */
class TaskLogger extends Logger {
  constructor(
    private readonly parent: Logger,
    private readonly show: (line: string) => void,
  ) {
    super({ quiet: true, stream: process.stderr });
  }

  override info(message: string): void {
    this.show(this.parent.redact(message));
  }

  override warn(message: string): void {
    this.parent.warn(message);
  }

  override error(message: string): void {
    this.parent.error(message);
  }

  override debug(message: string): void {
    if (this.parent.verbose) this.show(this.parent.redact(message));
  }

  override child(): Logger {
    return this;
  }
}

/** A logger that prints nothing: for library callers and tests that only want results. */
export function silentLogger(): Logger {
  return new Logger({ quiet: true });
}
