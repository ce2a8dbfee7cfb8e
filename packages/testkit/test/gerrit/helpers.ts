import ssh2 from 'ssh2';
import type { GerritSim } from '../../src/index.js';
import { generateSshKeyPair } from '@smokestack/core';

export const CI_AUTH = `Basic ${Buffer.from('smokestack:secret').toString('base64')}`;

/** GET/POST against the simulator; `json` is the body parsed after stripping Gerrit's `)]}'` line. */
export async function rest(sim: GerritSim, path: string, init: { method?: string; body?: unknown; auth?: string | null } = {}) {
  const headers: Record<string, string> = {};
  const auth = init.auth === undefined ? CI_AUTH : init.auth;
  if (auth) headers.authorization = auth;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${sim.httpUrl}${path}`, {
    method: init.method ?? (init.body !== undefined ? 'POST' : 'GET'),
    headers,
    body: init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body),
  });
  const text = await res.text();
  const json = text.startsWith(")]}'\n") ? JSON.parse(text.slice(5)) : undefined;
  return { status: res.status, headers: res.headers, text, json };
}

export function generateUserKey(): { privateKey: string; publicKey: string } {
  const keys = generateSshKeyPair();
  return { privateKey: keys.private, publicKey: keys.public };
}

/** An ssh2 client that pins the simulator's host key, as bellows does. */
export function connect(sim: GerritSim, username: string, auth: { privateKey?: string; password?: string }): Promise<ssh2.Client> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    const expected = sim.hostPublicKey.split(' ')[1];
    client.once('ready', () => resolve(client));
    client.once('error', reject);
    client.connect({
      host: sim.sshHost,
      port: sim.sshPort,
      username,
      ...auth,
      hostVerifier: (key: Buffer) => key.toString('base64') === expected,
      keepaliveInterval: 0,
    });
  });
}

export function exec(client: ssh2.Client, command: string, stdin?: string): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    client.exec(command, (err, channel) => {
      if (err) { reject(err); return; }
      let stdout = '';
      let stderr = '';
      let code: number | null = null;
      channel.on('data', (d: Buffer) => { stdout += d.toString(); });
      channel.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      channel.on('exit', (c: number | null) => { code = c; });
      channel.on('close', () => resolve({ stdout, stderr, code }));
      if (stdin !== undefined) channel.end(stdin); else channel.end();
    });
  });
}

export interface EventStream {
  events: Array<Record<string, any>>;
  closed: Promise<void>;
  waitFor(predicate: (e: Record<string, any>) => boolean, timeoutMs?: number): Promise<Record<string, any>>;
  close(): void;
}

/** Runs `gerrit stream-events` and collects the JSON lines. */
export function streamEvents(client: ssh2.Client, args = ''): Promise<EventStream> {
  return new Promise((resolve, reject) => {
    client.exec(`gerrit stream-events${args ? ` ${args}` : ''}`, (err, channel) => {
      if (err) { reject(err); return; }
      const events: Array<Record<string, any>> = [];
      const waiters: Array<() => void> = [];
      let buffer = '';
      channel.on('data', (d: Buffer) => {
        buffer += d.toString();
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          events.push(JSON.parse(buffer.slice(0, nl)));
          buffer = buffer.slice(nl + 1);
        }
        for (const w of waiters.splice(0)) w();
      });
      channel.stderr.on('data', () => undefined);
      const closed = new Promise<void>((r) => { channel.on('close', () => r()); client.on('close', () => r()); });
      resolve({
        events,
        closed,
        close: () => channel.close(),
        waitFor: (predicate, timeoutMs = 3000) => new Promise((res, rej) => {
          const timer = setTimeout(() => rej(new Error(`no matching event; got ${events.map((e) => e.type).join(',')}`)), timeoutMs);
          const check = (): void => {
            const found = events.find(predicate);
            if (found) { clearTimeout(timer); res(found); } else waiters.push(check);
          };
          check();
        }),
      });
    });
  });
}

/** Lets the server register a just-opened stream before the test mutates the scenario. */
export async function settle(sim: GerritSim, streams: number): Promise<void> {
  for (let i = 0; i < 100 && sim.streamCount < streams; i++) await new Promise((r) => setTimeout(r, 10));
}
