import path from 'node:path';
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
