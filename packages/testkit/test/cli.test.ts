import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { repoRoot, runCli, type CliName } from '@smokestack/testkit';

const lister = fileURLToPath(new URL('./fixtures/list-commands.mjs', import.meta.url));

interface Listed {
  commands: Array<{ id: string; summary: string; examples: number; json: boolean }>;
}

/** Commands that only hand the terminal to another program and so print no result. */
const INTERACTIVE = new Set(['group:ssh']);

describe('the built CLIs', () => {
  for (const cli of ['bellows', 'firestack', 'reviewday'] as CliName[]) {
    describe(cli, () => {
      let listed: Listed;
      before(() => {
        // Plain node, no tsx: a module that only loads under the test loader fails here.
        const text = execFileSync(process.execPath, ['--no-warnings', lister, path.join(repoRoot(), 'packages', cli)], {
          encoding: 'utf8',
          env: { ...process.env, NODE_OPTIONS: '' },
        });
        listed = JSON.parse(text) as Listed;
      });

      it('loads every command under plain Node', () => {
        expect(listed.commands.length).to.be.greaterThan(0);
      });

      it('gives every command a summary and at least one example', () => {
        for (const c of listed.commands) {
          expect(c.summary, `${cli} ${c.id} has no summary`).to.not.equal('');
          expect(c.examples, `${cli} ${c.id} has no example`).to.be.greaterThan(0);
        }
      });

      it('offers --json on every command that reports something', () => {
        for (const c of listed.commands) if (!INTERACTIVE.has(c.id)) expect(c.json, `${cli} ${c.id} lacks --json`).to.equal(true);
      });

      it('answers an unknown command or flag in one line pointing at --help, exit status 1', async () => {
        const command = await runCli(cli, ['no-such-command']);
        expect(command.stderr).to.equal(`${cli}: error: no command "no-such-command" (see: ${cli} --help)\n`);
        expect(command.code).to.equal(1);
        const first = listed.commands[0]!.id.split(':');
        const flag = await runCli(cli, [...first, '--no-such-flag']);
        expect(flag.stderr).to.equal(`${cli}: error: ${first.join(' ')}: unknown flag --no-such-flag (see: ${cli} ${first.join(' ')} --help)\n`);
        expect(flag.code).to.equal(1);
      });

      it('prints help with an example', async () => {
        const first = listed.commands[0]!.id.split(':').join(' ');
        const result = await runCli(cli, [...first.split(' '), '--help']);
        expect(result.code).to.equal(0);
        expect(result.stdout).to.contain('EXAMPLES');
        expect(result.stderr).to.equal('');
      });
    });
  }
});

/** A mistyped flag or command, run through each entry point a user has: the built CLI and bin/ (from source). */
describe('mistakes on the command line', function () {
  this.timeout(120_000);
  const entries: Array<{ name: string; argv: (cli: CliName) => string[] }> = [
    { name: 'built', argv: (cli) => [path.join(repoRoot(), 'packages', cli, 'bin', 'run.js')] },
    { name: 'bin/ from source', argv: (cli) => [path.join(repoRoot(), 'bin', cli)] },
  ];
  const cases: Array<{ cli: CliName; args: string[]; expected: RegExp }> = [
    { cli: 'bellows', args: ['sync', '--bogus'], expected: /^bellows: error: sync: unknown flag --bogus \(see: bellows sync --help\)$/ },
    { cli: 'firestack', args: ['run', '--templat', 'demo'], expected: /^firestack: error: run: unknown flag --templat \(see: firestack run --help\)$/ },
    { cli: 'reviewday', args: ['report', 'extra'], expected: /^reviewday: error: report: unexpected argument "extra" \(see: reviewday report --help\)$/ },
    { cli: 'bellows', args: ['jobs', 'show'], expected: /^bellows: error: jobs show: missing argument ID \(see: bellows jobs show --help\)$/ },
    { cli: 'bellows', args: ['synk'], expected: /^bellows: error: no command "synk"; did you mean "sync"\? \(see: bellows --help\)$/ },
  ];
  for (const entry of entries) {
    for (const c of cases) {
      it(`${entry.name}: ${c.cli} ${c.args.join(' ')} prints one line and exits 1`, () => {
        const r = spawnSync(process.execPath, [...entry.argv(c.cli), ...c.args], {
          encoding: 'utf8',
          env: { ...process.env, NODE_OPTIONS: '', NO_COLOR: '1', SMOKESTACK_CONFIG: '/dev/null/none.yaml' },
        });
        expect(r.stdout, r.stderr).to.equal('');
        expect(r.stderr.trimEnd().split('\n'), r.stderr).to.have.length(1);
        expect(r.stderr.trimEnd()).to.match(c.expected);
        expect(r.status).to.equal(1);
      });
    }
  }
});
