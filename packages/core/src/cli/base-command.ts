import { Command, Flags, type Interfaces } from '@oclif/core';
import { isUserError } from '../errors.js';
import { defaultConfig, hasConfigFile } from '../config/find.js';
import type { LoadedConfig } from '../config/load.js';
import { Logger } from '../log/logger.js';
import type { ProviderContext } from '../providers/types.js';
import { StateStore, resolveStatePath } from '../store/store.js';

/** JSON as oclif pretty-prints it; undefined for what only oclif's serializer handles (cycles). */
function plainJson(json: unknown): string | undefined {
  try {
    return JSON.stringify(json, null, 2) ?? '';
  } catch {
    return undefined;
  }
}

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof SmokestackCommand)['baseFlags'] & T['flags']>;

/**
 * The base of every bellows, firestack and reviewday command: global flags, config and
 * store resolution, a logger, and the two kinds of error (one line for the user's mistakes,
 * a stack only with --verbose for our bugs).
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

  private loadedConfig?: LoadedConfig;
  private configLoader?: typeof import('../config/load.js');
  private stateStore?: StateStore;
  private logger?: Logger;
  protected globals: { config?: string; state?: string; verbose: boolean; color: boolean } = { verbose: false, color: true };

  public override async init(): Promise<void> {
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
    // Only a config file needs the YAML parser and the validator: without one, a command never loads them.
    if (hasConfigFile({ flag: this.globals.config })) this.configLoader = await import('../config/load.js');
  }

  /** The validated config (the embedded empty default when there is no file). */
  protected get settings(): LoadedConfig {
    this.loadedConfig ??= this.configLoader?.loadConfig({ flag: this.globals.config }) ?? defaultConfig();
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
    this.logger ??= new Logger({ verbose: this.globals.verbose, quiet: this.jsonEnabled() && !this.globals.verbose });
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
      await write(`${first ? '' : ','}\n    ${JSON.stringify(item)}`);
      first = false;
    }
    await write(`${first ? '' : '\n  '}]\n}\n`);
  }

  /** What core services that reach hosts need: the store, progress, the clock and the environment. */
  protected providerContext(extra: Partial<ProviderContext> = {}): ProviderContext {
    return { store: this.store, logger: this.progress, now: () => new Date(), env: process.env, ...extra };
  }

  /**
   * --json for a program (stdout not a terminal): the same pretty-printed JSON, written straight out,
   * without oclif's colouring pass over the whole text. Terminals keep oclif's output.
   */
  override logJson(json: unknown): void {
    const text = process.stdout.isTTY ? undefined : plainJson(json);
    if (text === undefined) super.logJson(json);
    else process.stdout.write(`${text}\n`);
  }

  protected override async catch(err: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<unknown> {
    // oclif's own parse errors and exits keep their behaviour.
    if (err.oclif || err.name === 'ExitError') return super.catch(err);
    const name = this.config.bin;
    if (isUserError(err)) {
      if (this.jsonEnabled()) this.logJson({ error: { message: err.line } });
      this.logToStderr(`${name}: error: ${this.logger ? this.logger.redact(err.line) : err.line}`);
      process.exitCode = err.exitCode;
      return undefined;
    }
    if (this.jsonEnabled()) this.logJson({ error: { message: err.message } });
    if (this.globals.verbose) this.logToStderr(`${name}: unexpected error: ${err.stack ?? err.message}`);
    else this.logToStderr(`${name}: unexpected error: ${err.message} (run with --verbose for details)`);
    process.exitCode = 2;
    return undefined;
  }
}
