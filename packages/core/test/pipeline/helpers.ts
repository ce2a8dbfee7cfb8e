import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { waitFor as waitForProbe } from '@smokestack/testkit';
import { loadConfigFile, type LoadedConfig } from '../../src/config/load.js';
import { Logger } from '../../src/log/logger.js';
import { StateStore } from '../../src/store/store.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
export const EXAMPLES = path.join(REPO_ROOT, 'examples');

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.org', ...args], { cwd, encoding: 'utf8' }).trim();

/** A temp workspace: the demo project as a git repository, a config dir and a store. */
export class Workspace {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-pipeline-'));
  readonly repo = path.join(this.dir, 'demoapp');
  readonly store = new StateStore(path.join(this.dir, 'state', 'state.json'));
  readonly canary = path.join(this.dir, 'CANARY');
  readonly logLines: string[] = [];
  readonly logger = new Logger({
    stream: { write: (s: string) => (this.logLines.push(s), process.env.SMOKESTACK_TEST_VERBOSE && process.stderr.write(s), true) } as never,
    tty: false,
    verbose: Boolean(process.env.SMOKESTACK_TEST_VERBOSE),
  });

  constructor() {
    fs.cpSync(path.join(EXAMPLES, 'demo-project'), this.repo, { recursive: true });
    git(this.repo, 'init', '-q', '-b', 'master');
    git(this.repo, 'add', '-A');
    git(this.repo, 'commit', '-q', '-m', 'demoapp 1.0');
    fs.mkdirSync(path.join(this.dir, 'state'), { recursive: true });
  }

  /** Commits an edit on a new branch (left checked out on master) and returns the branch's revision. */
  branch(name: string, edit: (repo: string) => void): string {
    git(this.repo, 'checkout', '-q', '-b', name, 'master');
    edit(this.repo);
    git(this.repo, 'commit', '-q', '-a', '-m', `change on ${name}`);
    const rev = git(this.repo, 'rev-parse', 'HEAD');
    git(this.repo, 'checkout', '-q', 'master');
    return rev;
  }

  head(ref = 'master'): string {
    return git(this.repo, 'rev-parse', ref);
  }

  /** Writes smokestack.yaml with these templates and loads it. */
  config(templates: Record<string, unknown>, extra: Record<string, unknown> = {}): LoadedConfig {
    const file = path.join(this.dir, 'smokestack.yaml');
    fs.writeFileSync(file, YAML.stringify({ state: 'state/state.json', templates, ...extra }));
    return loadConfigFile(file);
  }

  cleanup(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * examples/templates/demo.yaml over any group, with its relative paths made absolute (the test
 * config lives in a temp dir) and the demo project taken from the workspace's git repository.
 */
export function demoTemplate(group: unknown, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const example = YAML.parse(fs.readFileSync(path.join(EXAMPLES, 'templates', 'demo.yaml'), 'utf8')) as Record<string, any>;
  example.builds[0].url = './demoapp';
  for (const m of example.puppet.modules) if (m.path) m.path = path.join(EXAMPLES, m.path);
  for (const [k, v] of Object.entries(example.puppet.manifests)) example.puppet.manifests[k] = path.join(EXAMPLES, v as string);
  return { ...example, group, maxInfraRetries: 1, ...overrides };
}

/** Removes what the demo installs system-wide (every "host" of these tests is this machine). */
export function purgeDemoPackage(): void {
  try {
    execFileSync('dpkg', ['--purge', 'demoapp'], { stdio: 'ignore' });
  } catch {
    // not installed
  }
  fs.rmSync('/etc/demoapp', { recursive: true, force: true });
  fs.rmSync('/var/tmp/demoapp-cache', { recursive: true, force: true });
}

/** Processes (other than this one) whose command line or working directory mentions `fragment`. */
export function processesMentioning(fragment: string): Array<{ pid: number; cmdline: string }> {
  const out: Array<{ pid: number; cmdline: string }> = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      let cwd = '';
      try {
        cwd = fs.readlinkSync(`/proc/${entry}/cwd`);
      } catch {
        // kernel threads and other users' processes
      }
      if (cmdline.includes(fragment) || cwd.includes(fragment)) out.push({ pid: Number(entry), cmdline });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** testkit's waitFor with the pipeline tests' patience: a minute, polling every 100 ms. */
export const waitFor = <T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> =>
  waitForProbe(what, probe, timeoutMs, 100);
