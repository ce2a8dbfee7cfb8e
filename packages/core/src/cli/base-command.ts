import { format } from 'node:util';
import { Command, Flags, type Interfaces } from '../oclif.js';
import { isInfraError, isUserError } from '../errors.js';
import { defaultConfig, findConfigPath, hasConfigFile } from '../config/find.js';
import { builtCodeId, readCachedConfig, writeCachedConfig } from '../config/cache.js';
import type { LoadedConfig } from '../config/load.js';
import { imageSettings } from '../images/settings.js';
import { Logger } from '../log/logger.js';
import { maskSecrets, secretsInEnvironment } from '../log/secrets.js';
import { printable } from '../log/terminal.js';
import type { ProviderContext } from '../providers/types.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/types.js';
import { asParseError, parseErrorLine } from './mistakes.js';

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof SmokestackCommand)['baseFlags'] & T['flags']>;

/** JSON as oclif pretty-prints it; undefined for what only oclif's serializer handles (cycles). */
function plainJson(json: unknown): string | undefined {
  try {
    return JSON.stringify(json, null, 2) ?? '';
  } catch {
    return undefined;
  }
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
      description: 'the state store: a JSON file path or a postgresql:// URL (default: config "state:", then $XDG_STATE_HOME/smokestack/state.json)',
      env: 'SMOKESTACK_STATE',
      helpGroup: 'GLOBAL',
    }),
    verbose: Flags.boolean({ char: 'v', description: 'print debug output and stacks of unexpected errors', helpGroup: 'GLOBAL' }),
    color: Flags.boolean({ description: 'colour output (--no-color or NO_COLOR turns it off)', allowNo: true, default: true, helpGroup: 'GLOBAL' }),
  };

  /** Values never printed: credentials from the environment, and every secret the services register on the logger. */
  private readonly secrets = new Set<string>();
  private loadedConfig?: LoadedConfig;
  private configLoader?: typeof import('../config/load.js');
  /** The identity of this build, for the config cache (config/cache.ts); undefined when running from source. */
  private configCodeId?: string;
  private stateStore?: Store;
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
    // Only a config file needs the YAML parser and the validator: without one, a command never loads them,
    // nor with one that this build validated before as it is now (config/cache.ts).
    if (!hasConfigFile({ flag: this.globals.config })) return;
    this.configCodeId = builtCodeId(this.config.root, import.meta.url);
    if (this.configCodeId) {
      try {
        this.loadedConfig = readCachedConfig(findConfigPath({ flag: this.globals.config })!, { codeId: this.configCodeId });
      } catch {
        // A config named but missing: the loader says so.
      }
    }
    if (!this.loadedConfig) this.configLoader = await import('../config/load.js');
  }

  /** The validated config (the embedded empty default when there is no file). */
  protected get settings(): LoadedConfig {
    if (!this.loadedConfig) {
      const loaded = this.configLoader?.loadConfig({ flag: this.globals.config }) ?? defaultConfig();
      if (this.configCodeId && loaded.sha256) writeCachedConfig(loaded, loaded.sha256, { codeId: this.configCodeId });
      this.loadedConfig = loaded;
    }
    return this.loadedConfig;
  }

  protected get store(): Store {
    if (!this.stateStore) {
      const loaded = this.settings;
      this.stateStore = openStore({ flag: this.globals.state, configState: loaded.config.state, configDataDir: loaded.config.dataDir, configDir: loaded.dir });
    }
    return this.stateStore;
  }

  /** A database store's connections are closed when the command ends, whatever its outcome. */
  public override async finally(err: Error | undefined): Promise<unknown> {
    await this.stateStore?.close().catch(() => undefined);
    return super.finally(err);
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
    return { store: this.store, logger: this.progress, now: () => new Date(), env: process.env, images: imageSettings(this.settings.config, process.env), ...extra };
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

  /**
   * --json output with every string's secrets masked. For a program (stdout not a terminal) the same
   * pretty-printed JSON is written straight out, without oclif's colouring pass over the whole text.
   */
  override logJson(json: unknown): void {
    const masked = json === undefined ? json : JSON.parse(JSON.stringify(json, this.maskedStrings));
    const text = process.stdout.isTTY ? undefined : plainJson(masked);
    if (text === undefined) super.logJson(masked);
    else process.stdout.write(`${text}\n`);
  }

  /** The final line of a failed command. */
  private fail(line: string, exitCode: number): void {
    if (this.jsonEnabled()) this.logJson({ error: { message: line } });
    this.logToStderr(`${this.config.bin}: error: ${line}`);
    process.exitCode = exitCode;
  }

  protected override async catch(err: Error & { exitCode?: number; oclif?: { exit?: number }; parse?: unknown }): Promise<unknown> {
    const mistyped = asParseError(err);
    if (mistyped) {
      // A mistyped command line: one line naming the command and its help, not oclif's usage dump.
      this.parsed = true; // the parse was attempted and answered; oclif need not warn that it never happened
      this.fail(parseErrorLine(mistyped, this.config.bin, this.id ?? ''), 1);
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
