import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { generateSshKeyPair, type StateData } from '@smokestack/core';
import { runCli, repoRoot, type CliName, type CliResult } from '../cli.js';
import { GerritSim } from '../gerrit/sim.js';
import type { GerritUser } from '../gerrit/types.js';
import { LaunchpadSim } from '../launchpad/sim.js';
import { removeContainersOfStore } from '../containers/index.js';
import { sshGroupDefinition, startSshHosts, type SshTestHosts } from '../sshd/index.js';
import { DEMO_APP, DEMO_LAUNCHPAD, DEMO_PUPPET, seedDemo, type DemoChange } from './scenario.js';
import { demoOutcomes, judgeDemo, type DemoVerdict } from './verdict.js';

export const DEMO_TEMPLATE = 'demo';

export type DemoHosts = 'container' | 'local' | 'ssh';

export interface DemoOptions {
  /** Working directory for the store, logs, simulators' data and the report. */
  dir: string;
  /**
   * `container` (the default: three container hosts, gateway gw, web1 serving demoapp, client1 using
   * it; needs root, systemd-nspawn and debootstrap), `local` (this machine) or `ssh` (sshd test hosts).
   */
  hosts?: DemoHosts;
  examplesDir?: string;
  now?: Date;
  /**
   * The scenario changes that stay open (keys, as in scenario.ts); the others are abandoned before
   * anything syncs. The end-to-end test runs one change of each kind this way; the demo runs them all.
   */
  changes?: string[];
  /** Progress lines for people. */
  log?: (line: string) => void;
  /** Every CLI's own progress lines, as they come. */
  progress?: (chunk: string) => void;
}

/**
 * Everything the demo and the end-to-end test need around the real CLIs: the Gerrit and
 * Launchpad simulators seeded with the demo scenario, a smokestack.yaml pointing at them,
 * and (with `hosts: 'ssh'`) real sshd hosts for the server group.
 */
export class DemoEnvironment {
  readonly configFile: string;
  readonly stateFile: string;
  readonly reportDir: string;
  readonly env: Record<string, string>;

  private constructor(
    readonly dir: string,
    readonly gerrit: GerritSim,
    readonly launchpad: LaunchpadSim,
    readonly changes: DemoChange[],
    private readonly sshHosts: SshTestHosts | undefined,
    private readonly options: DemoOptions,
  ) {
    this.configFile = path.join(dir, 'smokestack.yaml');
    this.stateFile = path.join(dir, 'state', 'state.json');
    this.reportDir = path.join(dir, 'report');
    this.env = {
      SMOKESTACK_CONFIG: this.configFile,
      SMOKESTACK_STATE: this.stateFile,
      GERRIT_HTTP_PASSWORD: 'secret',
      XDG_CONFIG_HOME: path.join(dir, 'xdg', 'config'),
      XDG_CACHE_HOME: path.join(dir, 'xdg', 'cache'),
      XDG_STATE_HOME: path.join(dir, 'xdg', 'state'),
    };
  }

  static async start(options: DemoOptions): Promise<DemoEnvironment> {
    const dir = path.resolve(options.dir);
    fs.mkdirSync(dir, { recursive: true });
    const examples = options.examplesDir ?? path.join(repoRoot(), 'examples');
    const identityFile = writeBotKey(dir);
    const gerrit = await GerritSim.start({ git: true, dir: path.join(dir, 'gerrit'), users: demoUsers(identityFile) });
    const launchpad = new LaunchpadSim();
    let sshHosts: SshTestHosts | undefined;
    try {
      await launchpad.start();
      const seeded = seedDemo(gerrit, launchpad, examples, options.now);
      const unknown = (options.changes ?? []).filter((key) => !seeded.some((c) => c.key === key));
      if (unknown.length > 0) throw new Error(`no demo change ${unknown.map((k) => `"${k}"`).join(', ')}`);
      const changes = seeded.filter((c) => !options.changes || options.changes.includes(c.key));
      for (const c of seeded) if (!changes.includes(c)) gerrit.abandon(c.number, 'not part of this run');
      if (options.hosts === 'ssh') sshHosts = await startSshHosts({ count: 2 });
      const env = new DemoEnvironment(dir, gerrit, launchpad, changes, sshHosts, options);
      env.writeConfig(examples, identityFile);
      // Built once per machine and shared by every later run, test and benchmark (same definition, same key).
      if (env.hosts === 'container') await env.run('firestack', ['image', 'build', 'default']);
      return env;
    } catch (err) {
      await sshHosts?.stop();
      await launchpad.stop();
      await gerrit.stop();
      throw err;
    }
  }

  change(key: string): DemoChange {
    const change = this.changes.find((c) => c.key === key);
    if (!change) throw new Error(`no demo change "${key}"`);
    return change;
  }

  get hosts(): DemoHosts {
    return this.options.hosts ?? 'container';
  }

  private groupDefinition(): unknown {
    if (this.hosts === 'container') {
      const hosts = [
        { name: 'gw', gateway: true, roles: ['build'] },
        { name: 'web1', roles: ['web'] },
        { name: 'client1', roles: ['client'] },
      ];
      return { name: 'demo', provider: 'container', image: 'default', hosts };
    }
    if (!this.sshHosts) {
      return { name: 'demo', provider: 'local', hosts: [{ name: 'web1', roles: ['web'], gateway: true }] };
    }
    return { name: 'demo', ...sshGroupDefinition(this.sshHosts, (i) => (i === 0 ? ['web'] : ['db'])) };
  }

  /** Puppet, suites and logs: on containers web1 serves demoapp and client1 asks it across the network. */
  private templateParts(examples: string): Record<string, unknown> {
    const manifest = (name: string) => path.join(examples, 'puppet', 'manifests', name);
    const smoke = { name: 'smoke', role: 'web', command: 'sh /usr/share/demoapp/tests/smoke.sh', format: 'junit', timeoutSeconds: 300 };
    if (this.hosts !== 'container') {
      return { manifests: { default: manifest('demoapp.pp') }, suites: [smoke], logs: [{ paths: ['/etc/demoapp/demoapp.conf'] }] };
    }
    return {
      manifests: { web: manifest('demoapp-server.pp'), client: manifest('demoapp-client.pp') },
      suites: [smoke, { name: 'network', role: 'client', command: 'sh /usr/share/demoapp/tests/network.sh', format: 'junit', timeoutSeconds: 300 }],
      logs: [
        { role: 'web', paths: ['/etc/demoapp/demoapp.conf', '/var/log/dpkg.log'] },
        { role: 'client', paths: ['/etc/demoapp/demoapp.conf'] },
      ],
    };
  }

  private writeConfig(examples: string, identityFile: string): void {
    const parts = this.templateParts(examples);
    const config = {
      gerrit: {
        url: this.gerrit.httpUrl,
        username: 'smokestack',
        settleSeconds: 0,
        ssh: {
          host: this.gerrit.sshHost,
          port: this.gerrit.sshPort,
          username: 'smokestack',
          identityFile,
          hostKey: this.gerrit.hostPublicKey,
          keepaliveSeconds: 2,
          silenceSeconds: 10,
        },
      },
      state: this.stateFile,
      projects: [DEMO_APP, DEMO_PUPPET].map((name) => ({
        name,
        branch: 'master',
        templates: [DEMO_TEMPLATE],
        launchpad: DEMO_LAUNCHPAD[name as keyof typeof DEMO_LAUNCHPAD],
        url: this.gerrit.gitUrl(name),
      })),
      templates: {
        [DEMO_TEMPLATE]: {
          description: 'demoapp built from the change under test, installed and configured by Puppet, smoke-tested',
          group: this.groupDefinition(),
          builds: [{ name: 'demoapp', project: DEMO_APP, url: this.gerrit.gitUrl(DEMO_APP), ref: 'master', method: 'dpkg' }],
          puppet: {
            modules: [{ name: 'demoapp', project: DEMO_PUPPET, url: this.gerrit.gitUrl(DEMO_PUPPET), ref: 'master' }],
            manifests: parts.manifests,
          },
          suites: parts.suites,
          logs: parts.logs,
          maxInfraRetries: 1,
        },
      },
      launchpad: { url: this.launchpad.url },
      report: { out: this.reportDir, title: 'SmokeStack demo: review priorities' },
      // Container jobs share nothing but the bridge, so two run at once; local ones take turns anyway.
      worker: { concurrency: this.hosts === 'container' ? 2 : 1, heartbeatSeconds: 2, staleSeconds: 30 },
    };
    fs.writeFileSync(this.configFile, YAML.stringify(config));
  }

  /** Runs one of the built CLIs against this environment; a non-zero exit is an error. */
  async run(cli: CliName, args: string[], options: { allowFailure?: boolean } = {}): Promise<CliResult> {
    const result = await runCli(cli, args, { env: this.env, cwd: this.dir, timeoutMs: 60 * 60_000, onStderr: this.options.progress });
    if (result.code !== 0 && !options.allowFailure) {
      throw new Error(`${cli} ${args.join(' ')} exited ${result.code}:\n${result.stderr || result.stdout}`);
    }
    return result;
  }

  async stop(): Promise<void> {
    // Containers a killed or timed-out worker left behind (normally none: every job deletes its group).
    if (this.hosts === 'container') await removeContainersOfStore(this.stateFile);
    await this.sshHosts?.stop();
    await this.launchpad.stop();
    await this.gerrit.stop();
  }
}

/** The bot's SSH key for stream-events, written 0600 like a real deployment's. */
function writeBotKey(dir: string): string {
  const file = path.join(dir, 'bot_ed25519');
  const pair = generateSshKeyPair('smokestack-demo');
  fs.writeFileSync(file, pair.private, { mode: 0o600 });
  fs.writeFileSync(`${file}.pub`, `${pair.public}\n`);
  return file;
}

function demoUsers(identityFile: string): GerritUser[] {
  const sshPublicKey = fs.readFileSync(`${identityFile}.pub`, 'utf8').trim();
  return [
    { username: 'smokestack', password: 'secret', name: 'SmokeStack CI', email: 'ci@example.org', sshPublicKey },
    { username: 'alice', password: 'alice-secret', name: 'Alice Developer', email: 'alice@example.org' },
  ];
}

export interface CycleSummary {
  configs: number;
  jobs: Record<string, number>;
  reviews: number;
  reportIndex: string;
  seconds: number;
  /** Whether the jobs showed SmokeStack at work, or only this machine failing. */
  verdict: DemoVerdict;
}

/** One full SmokeStack cycle: sync and fire, work the queue empty, comment, report. */
export async function runDemoCycle(env: DemoEnvironment, log: (line: string) => void = () => undefined): Promise<CycleSummary> {
  const started = Date.now();
  const step = async <T>(title: string, fn: () => Promise<T>, describe: (value: T) => string): Promise<T> => {
    const t0 = Date.now();
    log(`> ${title}`);
    const value = await fn();
    log(`  ${describe(value)} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    return value;
  };
  const sync = await step(
    'bellows sync --fire',
    async () => (await env.run('bellows', ['sync', '--fire', '--json'])).json<{ created: unknown[]; queued: unknown[] }>(),
    (r) => `${r.created.length} test configs created, ${r.queued.length} jobs queued`,
  );
  // Without --json the worker prints its progress (one line per stage of every job) as it goes.
  const state = await step(
    'firestack worker --once',
    async () => {
      await env.run('firestack', ['worker', '--once']);
      return JSON.parse(fs.readFileSync(env.stateFile, 'utf8')) as StateData;
    },
    (s) => `${Object.values(s.jobs).filter((j) => j.status !== 'superseded' && j.status !== 'cancelled').length} jobs run`,
  );
  const worked = Object.values(state.jobs).filter((j) => j.status !== 'superseded' && j.status !== 'cancelled');
  const commented = await step(
    'bellows comment',
    async () => (await env.run('bellows', ['comment', '--json'])).json<{ posted: unknown[] }>(),
    (r) => `${r.posted.length} reviews posted`,
  );
  const report = await step(
    'reviewday report',
    async () => (await env.run('reviewday', ['report', '--out', env.reportDir, '--json'])).json<{ indexPath: string }>(),
    (r) => `report written to ${r.indexPath}`,
  );
  const jobs: Record<string, number> = {};
  for (const job of worked) jobs[job.status] = (jobs[job.status] ?? 0) + 1;
  return {
    configs: sync.created.length,
    jobs,
    reviews: commented.posted.length,
    reportIndex: report.indexPath,
    seconds: (Date.now() - started) / 1000,
    verdict: judgeDemo(demoOutcomes(env.changes, state)),
  };
}
