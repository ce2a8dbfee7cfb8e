import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { repoRoot, runCli, type CliResult } from '@smokestack/testkit';

/** A temp dir with smokestack.yaml, a state store, and the demo project as a git repository. */
export class CliWorkspace {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-fs-cli-'));
  readonly repo = path.join(this.dir, 'demoapp');
  readonly env: Record<string, string> = {
    SMOKESTACK_CONFIG: path.join(this.dir, 'smokestack.yaml'),
    SMOKESTACK_STATE: path.join(this.dir, 'state', 'state.json'),
    XDG_CONFIG_HOME: path.join(this.dir, 'xdg'),
  };

  constructor(templates: Record<string, unknown>, extra: Record<string, unknown> = {}) {
    fs.cpSync(path.join(repoRoot(), 'examples', 'demo-project'), this.repo, { recursive: true });
    const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=T', '-c', 'user.email=t@example.org', ...args], { cwd: this.repo });
    git('init', '-q', '-b', 'master');
    git('add', '-A');
    git('commit', '-q', '-m', 'demoapp');
    fs.writeFileSync(this.env.SMOKESTACK_CONFIG!, YAML.stringify({ templates, ...extra }));
  }

  get head(): string {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: this.repo, encoding: 'utf8' }).trim();
  }

  firestack(args: string[], timeoutMs = 120_000): Promise<CliResult> {
    return runCli('firestack', args, { env: this.env, cwd: this.dir, timeoutMs });
  }

  cleanup(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A suite that writes JUnit XML with one passing and one skipped test. */
export const JUNIT_SUITE = {
  name: 'junit',
  command:
    `printf '<testsuite name="s"><testcase classname="cli" name="test_ok"/><testcase classname="cli" name="test_later"><skipped message="not yet"/></testcase></testsuite>' > "$SMOKESTACK_RESULTS_DIR/r.xml"; echo suite-ran-on-$SMOKESTACK_HOST`,
};
