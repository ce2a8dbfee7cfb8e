import readline from 'node:readline';
import { Flags } from '@smokestack/core/oclif';
import { SmokestackCommand } from '@smokestack/core/cli';
import { UserError } from '@smokestack/core/errors';
import { requireGerrit } from '@smokestack/core/bellows/settings';
import { saveGerritPassword, type LoginResult } from '@smokestack/core/bellows/login';

/** Reads one line from a TTY without echoing it. */
function promptHidden(question: string): Promise<string> {
  return new Promise((resolve) => {
    const rl = readline.createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    const rlo = rl as unknown as { _writeToOutput: (s: string) => void; output: NodeJS.WritableStream };
    rlo._writeToOutput = (s: string) => {
      if (s.startsWith(question)) rlo.output.write(question);
    };
    rl.question(question, (answer) => {
      rl.close();
      process.stderr.write('\n');
      resolve(answer);
    });
  });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

export default class Login extends SmokestackCommand {
  static override summary = 'Store the Gerrit HTTP password (checked against Gerrit first) in the 0600 credential file.';
  static override examples = ['<%= config.bin %> login', 'printf %s "$PASSWORD" | <%= config.bin %> login --password-stdin'];
  static override flags = {
    'password-stdin': Flags.boolean({ description: 'read the password from standard input instead of prompting' }),
    verify: Flags.boolean({ description: 'check the password against Gerrit before storing it', allowNo: true, default: true }),
  };

  async run(): Promise<LoginResult> {
    const { flags } = await this.parse(Login);
    const gerrit = requireGerrit(this.settings);
    let password: string;
    if (flags['password-stdin']) password = await readStdin();
    else if (process.stdin.isTTY) password = await promptHidden(`HTTP password for ${gerrit.username ?? '?'} at ${gerrit.url}: `);
    else throw new UserError('no terminal to ask for the password', { hint: 'pipe it in with --password-stdin' });
    const result = await saveGerritPassword(gerrit, password, { verify: flags.verify, logger: this.progress });
    this.log(`Stored the HTTP password for ${result.username}@${result.host} in ${result.file}${result.verified ? ' (checked with Gerrit)' : ''}.`);
    return result;
  }
}
