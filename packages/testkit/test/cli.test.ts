import { execFileSync } from 'node:child_process';
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
        expect(command.stderr).to.equal(`${cli}: error: unknown command "no-such-command" (see: ${cli} --help)\n`);
        expect(command.code).to.equal(1);
        const first = listed.commands[0]!.id.split(':');
        const flag = await runCli(cli, [...first, '--no-such-flag']);
        expect(flag.stderr).to.equal(`${cli}: error: Nonexistent flag: --no-such-flag (see: ${cli} ${first.join(' ')} --help)\n`);
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
