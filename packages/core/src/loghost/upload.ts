import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { SFTPWrapper } from 'ssh2';
import type { SshConnection } from '../ssh/connection.js';
import { listRemote, mkdirRemote, remoteExists, removeRemote, renameRemote, sftpCall, writeRemoteFile, type RemotePart } from '../ssh/sftp.js';
import { listJobFiles } from './outbox.js';
import { TRUNCATION_NOTE, cutMarker, planUpload, truncationNote, type FileShipment, type UploadPlan } from './plan.js';

/** Where uploads are written before they are renamed into place, inside the log host's jobs directory. */
export const INCOMING_DIR = '.incoming';

export interface Delivery {
  plan: UploadPlan;
  truncated: boolean;
}

/**
 * Sends a job's directory to `<remoteJobsDir>/<job>` on the log host: written under `.incoming/`,
 * then renamed into place, so a reader on the control host sees the previous copy or the whole
 * new one, never half of it. What an earlier, interrupted try left in `.incoming/` is removed first.
 */
export async function uploadJobDir(conn: SshConnection, localDir: string, remoteJobsDir: string, job: string, maxBytes: number): Promise<Delivery> {
  const sftp = await conn.sftp();
  const incoming = path.posix.join(remoteJobsDir, INCOMING_DIR);
  await mkdirRemote(sftp, incoming);
  await removeLeftovers(sftp, incoming, job);
  const staging = path.posix.join(incoming, `${job}.${randomBytes(4).toString('hex')}`);
  const plan = planUpload(listJobFiles(localDir), maxBytes);
  await mkdirRemote(sftp, staging);
  for (const file of plan.send) await sendFile(sftp, localDir, staging, file, maxBytes);
  const note = truncationNote(plan, maxBytes, localDir);
  if (note) await writeRemoteFile(sftp, path.posix.join(staging, TRUNCATION_NOTE), [{ text: note }]);
  await swapIntoPlace(sftp, staging, path.posix.join(remoteJobsDir, job));
  return { plan, truncated: note !== undefined };
}

async function sendFile(sftp: SFTPWrapper, localDir: string, staging: string, file: FileShipment, maxBytes: number): Promise<void> {
  const local = path.join(localDir, ...file.path.split('/'));
  const remote = path.posix.join(staging, file.path);
  await mkdirRemote(sftp, path.posix.dirname(remote));
  // fastPut keeps many writes in flight; a plain stream waits for each 32 KiB write in turn.
  if (file.kind === 'whole') return sftpCall<void>((cb) => sftp.fastPut(local, remote, cb), `upload ${file.path} to ${remote}`);
  const parts: RemotePart[] = [{ file: local, start: 0, end: file.head }, { text: cutMarker(file, maxBytes) }, { file: local, start: file.size - file.tail, end: file.size }];
  await writeRemoteFile(sftp, remote, parts);
}

async function removeLeftovers(sftp: SFTPWrapper, incoming: string, job: string): Promise<void> {
  for (const name of await listRemote(sftp, incoming)) {
    if (name.startsWith(`${job}.`)) await removeRemote(sftp, path.posix.join(incoming, name));
  }
}

/** Replaces `target` with `staging`: the old copy is moved aside first (a rename never replaces a directory). */
async function swapIntoPlace(sftp: SFTPWrapper, staging: string, target: string): Promise<void> {
  const aside = `${staging}.old`;
  if (await remoteExists(sftp, target)) await renameRemote(sftp, target, aside);
  await renameRemote(sftp, staging, target);
  await removeRemote(sftp, aside);
}
