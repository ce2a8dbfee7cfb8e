import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { SFTPWrapper } from 'ssh2';
import type { SshConnection } from '../ssh/connection.js';
import { listRemote, mkdirRemote, remoteExists, removeRemote, renameRemote, sftpCall } from '../ssh/sftp.js';
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
  if (note) await sftpCall<void>((cb) => sftp.writeFile(path.posix.join(staging, TRUNCATION_NOTE), note, cb), `write ${TRUNCATION_NOTE} to ${staging}`);
  await swapIntoPlace(sftp, staging, path.posix.join(remoteJobsDir, job));
  return { plan, truncated: note !== undefined };
}

async function sendFile(sftp: SFTPWrapper, localDir: string, staging: string, file: FileShipment, maxBytes: number): Promise<void> {
  const local = path.join(localDir, ...file.path.split('/'));
  const remote = path.posix.join(staging, file.path);
  await mkdirRemote(sftp, path.posix.dirname(remote));
  // fastPut keeps many writes in flight (a plain SFTP stream waits for each 32 KiB write in turn), so a cut file is put together locally first.
  const source = file.kind === 'whole' ? local : writeCutCopy(local, file, maxBytes, localDir);
  try {
    await sftpCall<void>((cb) => sftp.fastPut(source, remote, cb), `upload ${file.path} to ${remote}`);
  } finally {
    if (source !== local) fs.rmSync(path.dirname(source), { recursive: true, force: true });
  }
}

/** The head and tail of a file around the cut marker, in a temporary file beside the job's directory (not in a tmpfs /tmp). */
function writeCutCopy(local: string, file: FileShipment & { kind: 'truncated' }, maxBytes: number, localDir: string): string {
  const copy = path.join(fs.mkdtempSync(path.join(path.dirname(localDir), '.cut-')), path.basename(local));
  const from = fs.openSync(local, 'r');
  const to = fs.openSync(copy, 'w', 0o600);
  try {
    copyRange(from, to, 0, file.head);
    fs.writeSync(to, cutMarker(file, maxBytes));
    copyRange(from, to, file.size - file.tail, file.tail);
  } finally {
    fs.closeSync(from);
    fs.closeSync(to);
  }
  return copy;
}

function copyRange(from: number, to: number, start: number, length: number): void {
  const buffer = Buffer.alloc(Math.min(length, 1 << 20));
  for (let done = 0; done < length; ) {
    const read = fs.readSync(from, buffer, 0, Math.min(buffer.length, length - done), start + done);
    if (read === 0) break;
    fs.writeSync(to, buffer, 0, read);
    done += read;
  }
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
