import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { UserError } from '@smokestack/core';
import { SmokestackCommand } from '@smokestack/core/cli';

// A real CLI root, so oclif's config (bin name, flags) is what users get.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bellows');

class Bug extends SmokestackCommand {
  static override summary = 'fails with a bug';
  async run(): Promise<void> {
    await this.parse(Bug);
    const missing = undefined as unknown as { field: string };
    this.log(missing.field); // a TypeError, as a real bug would be
  }
}

class Mistake extends SmokestackCommand {
  static override summary = 'fails with a user mistake';
  async run(): Promise<void> {
    await this.parse(Mistake);
    throw new UserError('smokestack.yaml: projects[0].name: expected a string', { hint: 'name the Gerrit project' });
  }
}

/** A result with what JSON must escape: quotes, colons, newlines, control characters, non-ASCII, big and small numbers. */
const listing = {
  jobs: [
    { id: 'j1', message: 'said "no": exit 1\nthen\ttabs \u0007 and ünïcödé ✓', summary: { tests: 1e21, failures: -0.5, skipped: 0 }, skipped: [] },
    { id: 'j2', message: '', approvedBy: null, wip: false, nested: { a: [1, [2, {}]] } },
  ],
};

class Listing extends SmokestackCommand {
  static override summary = 'lists something';
  async run(): Promise<typeof listing> {
    await this.parse(Listing);
    return listing;
  }
}

async function run(command: typeof SmokestackCommand, argv: string[]): Promise<{ stderr: string; stdout: string; exitCode: number | undefined }> {
  const write = { out: process.stdout.write, err: process.stderr.write };
  let stderr = '';
  let stdout = '';
  process.stderr.write = ((chunk: string) => ((stderr += chunk), true)) as typeof process.stderr.write;
  process.stdout.write = ((chunk: string) => ((stdout += chunk), true)) as typeof process.stdout.write;
  const before = process.exitCode;
  try {
    await (command as unknown as { run(argv: string[], root: string): Promise<unknown> }).run(argv, root);
    return { stderr, stdout, exitCode: process.exitCode as number | undefined };
  } finally {
    process.stderr.write = write.err;
    process.stdout.write = write.out;
    process.exitCode = before;
  }
}

describe('SmokestackCommand errors', () => {
  it('prints a user mistake as one line with its hint, exit status 1', async () => {
    const result = await run(Mistake, []);
    expect(result.stderr).to.equal('bellows: error: smokestack.yaml: projects[0].name: expected a string (name the Gerrit project)\n');
    expect(result.exitCode).to.equal(1);
  });

  it('prints a bug without its stack, pointing at --verbose, exit status 2', async () => {
    const result = await run(Bug, []);
    expect(result.stderr).to.match(/^bellows: unexpected error: .*field.* \(run with --verbose for details\)\n$/);
    expect(result.stderr).to.not.match(/\n\s+at /);
    expect(result.exitCode).to.equal(2);
  });

  it('prints the stack of a bug with --verbose', async () => {
    const result = await run(Bug, ['--verbose']);
    expect(result.stderr).to.match(/^bellows: unexpected error: TypeError: /);
    expect(result.stderr).to.match(/\n\s+at /);
    expect(result.exitCode).to.equal(2);
  });

  it('reports errors as JSON on stdout with --json', async () => {
    const result = await run(Mistake, ['--json']);
    expect(JSON.parse(result.stdout)).to.deep.equal({ error: { message: 'smokestack.yaml: projects[0].name: expected a string (name the Gerrit project)' } });
    expect(result.exitCode).to.equal(1);
  });
});

describe('SmokestackCommand --json', () => {
  it('prints the result to a program as pretty-printed JSON and nothing else', async () => {
    const result = await run(Listing, ['--json']);
    expect(result.stdout).to.equal(`${JSON.stringify(listing, null, 2)}\n`);
    expect(JSON.parse(result.stdout)).to.deep.equal(listing);
    expect(result.exitCode).to.equal(undefined);
  });
});
