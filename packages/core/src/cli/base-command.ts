import { format } from 'node:util';
import { Command, Flags, type Interfaces } from '@oclif/core';
import { isInfraError, isUserError } from '../errors.js';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import { Logger } from '../log/logger.js';
import { maskSecrets, secretsInEnvironment } from '../log/secrets.js';
import { printable } from '../log/terminal.js';
import type { ProviderContext } from '../providers/types.js';
import { StateStore, resolveStatePath } from '../store/store.js';

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof SmokestackCommand)['baseFlags'] & T['flags']>;

/** oclif's own errors for a command line it cannot parse (unknown flag, missing or extra argument). */
function isUsageMistake(err: Error & { parse?: unknown; oclif?: { exit?: number | false } }): boolean {
  return err.parse !== undefined && err.oclif !== undefined;
}

/**
 * The base of every bellows, firestack and reviewday command: global flags, config and
 * store resolution, a logger, and the two kinds of error (one line for the user's mistakes
 * and failures of the systems we depend on, a stack only with --verbose for our bugs).
 * Everything printed has secrets masked; what reaches a terminal has no control characters.
 */
export abstract class SmokestackCommand extends Command {
  static override enableJsonFlag = true;

  static override baseFlags = {
    config: Flags.string({
      char: 'c',
      description: 'path to smokestack.yaml (default: ./smokestack.yaml, then $XDG_CONFIG_HOME/smokestack/)',
      env: 'SMOKESTACK_CONFIG',
      helpGroup: 'GLOBAL',
    }),
    state: Flags.string({
      description: 'path to the state store (default: config "state:", then $XDG_STATE_HOME/smokestack/state.json)',
      env: 'SMOKESTACK_STATE',
      helpGroup: 'GLOBAL',
    }),
    verbose: Flags.boolean({ char: 'v', description: 'print debug output and stacks of unexpected errors', helpGroup: 'GLOBAL' }),
    color: Flags.boolean({ description: 'colour output (--no-color or NO_COLOR turns it off)', allowNo: true, default: true, helpGroup: 'GLOBAL' }),
  };

  /** Values never printed: credentials from the environment, and every secret the services register on the logger. */
  private readonly secrets = new Set<string>();
  private loadedConfig?: LoadedConfig;
  private stateStore?: StateStore;
  private logger?: Logger;
  protected globals: { config?: string; state?: string; verbose: boolean; color: boolean } = { verbose: false, color: true };

  public override async init(): Promise<void> {
    for (const secret of secretsInEnvironment(process.env)) if (secret.length >= 4) this.secrets.add(secret);
    await super.init();
    const { flags } = await this.parse(this.ctor as typeof SmokestackCommand);
    const f = flags as Record<string, unknown>;
    this.globals = {
      config: f.config as string | undefined,
      state: f.state as string | undefined,
      verbose: Boolean(f.verbose),
      // Colour for people at a terminal; never escape codes in pipes, files or cron mail.
      color: Boolean(f.color) && !process.env.NO_COLOR && Boolean(process.stdout.isTTY),
    };
    if (!this.globals.color) process.env.FORCE_COLOR = '0';
  }

  /** The validated config (the embedded empty default when there is no file). */
  protected get settings(): LoadedConfig {
    this.loadedConfig ??= loadConfig({ flag: this.globals.config });
    return this.loadedConfig;
  }

  protected get store(): StateStore {
    if (!this.stateStore) {
      const loaded = this.settings;
      const file = resolveStatePath({ flag: this.globals.state, configState: loaded.config.state, configDir: loaded.dir });
      this.stateStore = new StateStore(file);
    }
    return this.stateStore;
  }

  protected get progress(): Logger {
    this.logger ??= new Logger({ verbose: this.globals.verbose, quiet: this.jsonEnabled() && !this.globals.verbose }, '', this.secrets);
    return this.logger;
  }

  /**
   * Writes `{"KEY": [item, …]}` to stdout as the items arrive, so a long list costs the memory of
   * one item (the return value of the command is then undefined: nothing else is printed).
   */
  protected async streamJsonList(key: string, items: AsyncIterable<unknown>): Promise<void> {
    const write = (text: string) => (process.stdout.write(text) ? Promise.resolve() : new Promise<void>((resolve) => process.stdout.once('drain', () => resolve())));
    await write(`{\n  ${JSON.stringify(key)}: [`);
    let first = true;
    for await (const item of items) {
      await write(`${first ? '' : ','}\n    ${JSON.stringify(item, this.maskedStrings)}`);
      first = false;
    }
    await write(`${first ? '' : '\n  '}]\n}\n`);
  }

  /** What core services that reach hosts need: the store, progress, the clock and the environment. */
  protected providerContext(extra: Partial<ProviderContext> = {}): ProviderContext {
    return { store: this.store, logger: this.progress, now: () => new Date(), env: process.env, ...extra };
  }

  /** Text for the terminal: secrets masked, escape sequences and control characters gone. */
  private forTerminal(message: unknown, args: unknown[]): string {
    return printable(maskSecrets(format(message, ...args), this.secrets));
  }

  override log(message: unknown = '', ...args: unknown[]): void {
    super.log(this.forTerminal(message, args));
  }

  /** Prints a `renderTable` (its cells already cleaned), keeping the table's own colours. */
  protected logTable(table: string): void {
    super.log(printable(maskSecrets(table, this.secrets), { keepColour: this.globals.color }));
  }

  override logToStderr(message: unknown = '', ...args: unknown[]): void {
    super.logToStderr(this.forTerminal(message, args));
  }

  /** A JSON replacer masking the secrets in every string (JSON itself escapes control characters). */
  private readonly maskedStrings = (_key: string, value: unknown): unknown => (typeof value === 'string' ? maskSecrets(value, this.secrets) : value);

  /** --json output with every string's secrets masked. */
  override logJson(json: unknown): void {
    super.logJson(json === undefined ? json : JSON.parse(JSON.stringify(json, this.maskedStrings)));
  }

  /** The final line of a failed command. */
  private fail(line: string, exitCode: number): void {
    if (this.jsonEnabled()) this.logJson({ error: { message: line } });
    this.logToStderr(`${this.config.bin}: error: ${line}`);
    process.exitCode = exitCode;
  }

  protected override async catch(err: Error & { exitCode?: number; oclif?: { exit?: number }; parse?: unknown }): Promise<unknown> {
    if (isUsageMistake(err)) {
      const what = err.message.split('\n').filter((l) => l.trim() && !/^See more help with/.test(l)).map((l) => l.trim()).join(' ');
      const command = [this.config.bin, ...(this.id ? this.id.split(':') : [])].join(' ');
      this.fail(`${what.replace(/\s+/g, ' ')} (see: ${command} --help)`, 1);
      return undefined;
    }
    // oclif's own exits keep their behaviour.
    if (err.oclif || err.name === 'ExitError') return super.catch(err);
    if (isUserError(err)) {
      this.fail(err.line, err.exitCode);
      return undefined;
    }
    // A server we depend on failed or refused us: the user's to look into, not our bug.
    if (isInfraError(err)) {
      this.fail(err.message, 1);
      return undefined;
    }
    if (this.jsonEnabled()) this.logJson({ error: { message: err.message } });
    const name = this.config.bin;
    if (this.globals.verbose) this.logToStderr(`${name}: unexpected error: ${err.stack ?? err.message}`);
    else this.logToStderr(`${name}: unexpected error: ${err.message} (run with --verbose for details)`);
    process.exitCode = 2;
    return undefined;
  }
}
