import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type { SFTPWrapper } from 'ssh2';
import { InfraError } from '../errors.js';

/** One SFTP request as a promise; a failure is an InfraError naming what was being done. */
export function sftpCall<T>(fn: (cb: (err: Error | undefined | null, value?: T) => void) => void, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    fn((err, value) => (err ? reject(new InfraError(`${what}: ${err.message}`, { cause: err })) : resolve(value as T)));
  });
}

export function remoteExists(sftp: SFTPWrapper, file: string): Promise<boolean> {
  return new Promise<boolean>((resolve) => sftp.lstat(file, (err) => resolve(!err)));
}

/** `mkdir -p` over SFTP. */
export async function mkdirRemote(sftp: SFTPWrapper, dir: string): Promise<void> {
  if (dir === '.' || dir === '/' || dir === '') return;
  if (await remoteExists(sftp, dir)) return;
  await mkdirRemote(sftp, path.posix.dirname(dir));
  await new Promise<void>((resolve, reject) =>
    sftp.mkdir(dir, (err) => {
      // Another transfer may have created it meanwhile.
      if (err) sftp.stat(dir, (statErr) => (statErr ? reject(new InfraError(`mkdir ${dir}: ${err.message}`)) : resolve()));
      else resolve();
    }),
  );
}

/** `rm -rf` over SFTP (symbolic links are removed, never followed). */
export async function removeRemote(sftp: SFTPWrapper, target: string): Promise<void> {
  const attrs = await new Promise<{ isDirectory(): boolean } | undefined>((resolve) => sftp.lstat(target, (err, a) => resolve(err ? undefined : a)));
  if (!attrs) return;
  if (!attrs.isDirectory()) return sftpCall<void>((cb) => sftp.unlink(target, cb), `remove ${target}`);
  for (const entry of await listRemote(sftp, target)) await removeRemote(sftp, path.posix.join(target, entry));
  await sftpCall<void>((cb) => sftp.rmdir(target, cb), `remove ${target}`);
}

export async function listRemote(sftp: SFTPWrapper, dir: string): Promise<string[]> {
  const entries = await sftpCall<Array<{ filename: string }>>((cb) => sftp.readdir(dir, cb as never), `list ${dir}`);
  return entries.map((e) => e.filename);
}

export function renameRemote(sftp: SFTPWrapper, from: string, to: string): Promise<void> {
  return sftpCall<void>((cb) => sftp.rename(from, to, cb), `rename ${from} to ${to}`);
}

/** A piece of a remote file: a byte range of a local file, or text of our own. */
export type RemotePart = { file: string; start: number; end: number } | { text: string };

/** Writes `parts` one after another into one remote file, streamed (a part is never held whole in memory). */
export async function writeRemoteFile(sftp: SFTPWrapper, remote: string, parts: readonly RemotePart[], mode = 0o644): Promise<void> {
  async function* chunks() {
    for (const part of parts) {
      if ('text' in part) yield Buffer.from(part.text);
      else if (part.end > part.start) yield* fs.createReadStream(part.file, { start: part.start, end: part.end - 1 });
    }
  }
  try {
    await pipeline(Readable.from(chunks()), sftp.createWriteStream(remote, { mode }));
  } catch (err) {
    throw new InfraError(`write ${remote}: ${(err as Error).message}`, { cause: err });
  }
}
