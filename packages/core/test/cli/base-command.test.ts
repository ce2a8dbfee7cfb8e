import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { InfraError, UserError } from '@smokestack/core';
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

const SECRET = 'pw-7Qz-only-in-the-environment';

/** Gerrit answered with an error body that echoes the password, as misconfigured proxies do. */
class EchoedSecret extends SmokestackCommand {
  static override summary = 'fails with a message that contains the password';
  async run(): Promise<void> {
    await this.parse(EchoedSecret);
    throw new UserError(`gerrit: HTTP 400: bad credentials bot:${SECRET}`);
  }
}

class EchoedSecretBug extends SmokestackCommand {
  static override summary = 'a bug whose message contains the password';
  async run(): Promise<void> {
    await this.parse(EchoedSecretBug);
    throw new Error(`cannot parse ${SECRET}`);
  }
}

class Unreachable extends SmokestackCommand {
  static override summary = 'a server we depend on cannot be reached';
  async run(): Promise<void> {
    await this.parse(Unreachable);
    throw new InfraError('gerrit: http://127.0.0.1:9/: GET /changes/: ECONNREFUSED (after 6 tries)');
  }
}

class Chatty extends SmokestackCommand {
  static override summary = 'prints data from Gerrit and returns it';
  async run(): Promise<{ subject: string; errors: string[] }> {
    await this.parse(Chatty);
    const subject = 'Fix \u001b]0;owned\u0007title\u001b[2J\u001b[31mred\r\u009b1mend';
    this.log(`subject: ${subject}`);
    this.logToStderr(`warning: ${SECRET} in ${subject}`);
    return { subject, errors: [`HTTP 500: ${SECRET}`] };
  }
}

/** Streams a list as --json does for long histories. */
class Streamer extends SmokestackCommand {
  static override summary = 'streams items that carry the password';
  async run(): Promise<void> {
    await this.parse(Streamer);
    async function* items() {
      yield { message: `HTTP 500: ${SECRET}` };
    }
    await this.streamJsonList('jobs', items());
  }
}

async function run(command: typeof SmokestackCommand, argv: string[]): Promise<{ stderr: string; stdout: string; exitCode: number | undefined }> {
  const write = { out: process.stdout.write, err: process.stderr.write };
  const password = process.env.GERRIT_HTTP_PASSWORD;
  process.env.GERRIT_HTTP_PASSWORD = SECRET;
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
    if (password === undefined) delete process.env.GERRIT_HTTP_PASSWORD;
    else process.env.GERRIT_HTTP_PASSWORD = password;
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

  it('masks the password in the final error line, as text and as --json', async () => {
    for (const command of [EchoedSecret, EchoedSecretBug]) {
      const text = await run(command, []);
      expect(text.stderr).to.match(/^bellows: (unexpected )?error: .*\*\*\*/);
      const json = await run(command, ['--json']);
      expect(JSON.parse(json.stdout).error.message).to.include('***');
      for (const out of [text.stdout, text.stderr, json.stdout, json.stderr]) expect(out).to.not.include(SECRET);
    }
  });

  it('masks the password in what a command prints and in its --json result', async () => {
    const text = await run(Chatty, []);
    const json = await run(Chatty, ['--json']);
    for (const out of [text.stdout, text.stderr, json.stdout, json.stderr]) expect(out).to.not.include(SECRET);
    expect(JSON.parse(json.stdout).errors).to.deep.equal(['HTTP 500: ***']);
  });

  it('masks the password in a streamed --json list', async () => {
    const result = await run(Streamer, ['--json']);
    expect(JSON.parse(result.stdout)).to.deep.equal({ jobs: [{ message: 'HTTP 500: ***' }] });
  });

  it('strips control characters and escape sequences from what it prints on a terminal', async () => {
    const result = await run(Chatty, []);
    expect(result.stdout).to.equal('subject: Fix titleredend\n');
    expect(result.stderr).to.not.match(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    // --json keeps the data as it is: JSON escapes it.
    expect(JSON.parse((await run(Chatty, ['--json'])).stdout).subject).to.include('\u001b]0;owned');
  });

  it('reports a server that cannot be reached in one line naming it, exit status 1', async () => {
    const result = await run(Unreachable, []);
    expect(result.stderr).to.equal('bellows: error: gerrit: http://127.0.0.1:9/: GET /changes/: ECONNREFUSED (after 6 tries)\n');
    expect(result.exitCode).to.equal(1);
  });

  it('answers a usage mistake (unknown flag, missing or extra argument) in one line pointing at --help, exit status 1', async () => {
    const flag = await run(Mistake, ['--bogus']);
    expect(flag.stderr).to.match(/^bellows: error: .*unknown flag --bogus \(see: bellows .* --help\)\n$/);
    expect(flag.exitCode).to.equal(1);
    const extra = await run(Mistake, ['surplus']);
    expect(extra.stderr).to.match(/^bellows: error: .*unexpected argument "surplus" \(see: bellows .* --help\)\n$/);
    expect(extra.exitCode).to.equal(1);
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
