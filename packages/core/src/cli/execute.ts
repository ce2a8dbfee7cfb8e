import { Config, flush, handle, run, settings, type Plugin } from '../oclif.js';
import { errorMessage } from '../errors.js';
import { printable } from '../log/terminal.js';

/**
 * Runs one of the CLIs as oclif's `execute` does, except for what reaches it from outside any command:
 * an unknown command is a usage mistake like an unknown flag (one line, exit status 1) and anything
 * else but oclif's own exits is a bug (exit status 2), as docs/architecture.md says.
 */
export async function executeCli(options: { bin: string; dir: string; development?: boolean }): Promise<void> {
  if (options.development) {
    process.env.NODE_ENV = 'development';
    settings.debug = true;
  }
  try {
    await run(process.argv.slice(2), options.development ? await sourceConfig(options.dir) : options.dir);
    await flush();
  } catch (err) {
    const e = err as Error & { oclif?: { exit?: number } };
    const unknown = /^command (.+) not found$/.exec(errorMessage(err));
    if (unknown) {
      const command = printable(unknown[1]!.replaceAll(':', ' '));
      process.stderr.write(`${options.bin}: error: unknown command "${command}" (see: ${options.bin} --help)\n`);
      process.exitCode = 1;
      return;
    }
    if (e?.oclif || e?.name === 'ExitError') return handle(e);
    process.stderr.write(`${options.bin}: unexpected error: ${printable(e?.stack ?? errorMessage(err))}\n`);
    process.exitCode = 2;
  }
}

/**
 * The development entry (bin/dev.js) runs each command from its TypeScript source. oclif loads a
 * command from the file the built manifest names (the bundle, scripts/bundle-clis.mjs) whenever the
 * manifest exists, so the root plugin's entries are pointed at src/commands/ instead.
 */
async function sourceConfig(dir: string): Promise<Config> {
  const config = await Config.load(dir);
  const root = config.getPluginsList().find((p) => p.isRoot) as Plugin | undefined;
  for (const command of Object.values(root?.manifest?.commands ?? {})) {
    const at = command.relativePath;
    const index = at?.indexOf('commands') ?? -1;
    if (!at || index < 0) continue;
    command.relativePath = ['src', ...at.slice(index)].map((part, i, all) => (i === all.length - 1 ? part.replace(/\.js$/, '.ts') : part));
  }
  return config;
}
