import fs from 'node:fs';
import path from 'node:path';
import type Conf from 'conf';
import { UserError } from '../errors.js';
import { homeDir, xdgConfigHome, type Env } from '../paths.js';

/** Where secrets may live, in the order they are consulted. */
export interface CredentialSources {
  env?: Env;
  /** Directory of the 0600 credential file; defaults to $XDG_CONFIG_HOME/smokestack. */
  credentialDir?: string;
}

export interface NetrcEntry {
  machine: string;
  login?: string;
  password?: string;
}

/** Parses ~/.netrc (machine/login/password/default tokens; macdef blocks are skipped). */
export function parseNetrc(text: string): NetrcEntry[] {
  const entries: NetrcEntry[] = [];
  const tokens = text.split(/\s+/).filter(Boolean);
  let current: NetrcEntry | undefined;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (token === 'machine' || token === 'default') {
      current = { machine: token === 'default' ? '' : (tokens[++i] ?? '') };
      entries.push(current);
    } else if (token === 'login' && current) current.login = tokens[++i];
    else if (token === 'password' && current) current.password = tokens[++i];
    else if (token === 'account') i++;
    else if (token === 'macdef') break;
  }
  return entries;
}

/** The credential file as conf keeps it (loaded only by the commands that write secrets). */
async function credentialStore(dir: string): Promise<Conf<Record<string, string>>> {
  const { default: Conf } = await import('conf');
  return new Conf<Record<string, string>>({
    projectName: 'smokestack',
    configName: 'credentials',
    cwd: dir,
    configFileMode: 0o600,
    accessPropertiesByDotNotation: false,
  });
}

function assertPrivate(file: string): void {
  const mode = fs.statSync(file).mode & 0o077;
  if (mode !== 0) {
    throw new UserError(`${file}: credential file is readable by others`, { hint: `run: chmod 600 ${file}` });
  }
}

/** Gerrit HTTP password: GERRIT_HTTP_PASSWORD, then ~/.netrc for the host, then the credential store. */
export function gerritHttpPassword(gerritUrl: string, username: string | undefined, sources: CredentialSources = {}): string | undefined {
  const env = sources.env ?? process.env;
  if (env.GERRIT_HTTP_PASSWORD) return env.GERRIT_HTTP_PASSWORD;
  const host = new URL(gerritUrl).hostname;
  const netrc = env.NETRC ?? path.join(homeDir(env), '.netrc');
  if (fs.existsSync(netrc)) {
    assertPrivate(netrc);
    const entries = parseNetrc(fs.readFileSync(netrc, 'utf8'));
    const match =
      entries.find((e) => e.machine === host && (!username || !e.login || e.login === username)) ??
      entries.find((e) => e.machine === '');
    if (match?.password) return match.password;
  }
  return readStoredSecret(`gerrit:${host}`, sources);
}

export function credentialFilePath(sources: CredentialSources = {}): string {
  const dir = sources.credentialDir ?? path.join(xdgConfigHome(sources.env ?? process.env), 'smokestack');
  return path.join(dir, 'credentials.json');
}

export function readStoredSecret(key: string, sources: CredentialSources = {}): string | undefined {
  const file = credentialFilePath(sources);
  if (!fs.existsSync(file)) return undefined;
  assertPrivate(file);
  // conf keeps the file as plain JSON; reading it needs no more than that (and stays synchronous).
  let stored: unknown;
  try {
    stored = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UserError(`${file}: not a valid credential file: ${(err as Error).message}`, { hint: 'log in again to rewrite it' });
  }
  const value = stored && typeof stored === 'object' ? (stored as Record<string, unknown>)[key] : undefined;
  return typeof value === 'string' ? value : undefined;
}

export async function storeSecret(key: string, value: string, sources: CredentialSources = {}): Promise<string> {
  const file = credentialFilePath(sources);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  (await credentialStore(path.dirname(file))).set(key, value);
  fs.chmodSync(file, 0o600);
  return file;
}
