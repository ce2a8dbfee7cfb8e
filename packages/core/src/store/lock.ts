import fs from 'node:fs';
import os from 'node:os';
import { sleep } from '../net/retry.js';
import { randomBytes } from 'node:crypto';
import { UserError } from '../errors.js';

interface LockOwner {
  pid: number;
  host: string;
  acquiredAt: number;
}

export interface LockOptions {
  /** Give up after this long. */
  timeoutMs?: number;
  /** A lock from another machine whose heartbeat is older than this is taken over. */
  staleMs?: number;
}

/**
 * A cross-process lock: an atomically created directory holding its owner's pid.
 * Unlike a purely time-based lock, a lock left by a process that died on this host
 * (SIGKILL, OOM) is recognised at once, so a killed cron run never stalls the next.
 */
export async function acquireLock(target: string, options: LockOptions = {}): Promise<() => void> {
  const lockDir = `${target}.lock`;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const staleMs = options.staleMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  let delay = 2;
  for (;;) {
    try {
      fs.mkdirSync(lockDir);
      const owner: LockOwner = { pid: process.pid, host: os.hostname(), acquiredAt: Date.now() };
      fs.writeFileSync(`${lockDir}/owner`, JSON.stringify(owner));
      const heartbeat = setInterval(() => touch(lockDir), Math.max(1000, staleMs / 3));
      heartbeat.unref();
      let released = false;
      return () => {
        if (released) return;
        released = true;
        clearInterval(heartbeat);
        fs.rmSync(lockDir, { recursive: true, force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (isStale(lockDir, staleMs)) {
      breakLock(lockDir);
      continue;
    }
    if (Date.now() > deadline) {
      throw new UserError(`${target}: the state store is locked by another process`, {
        hint: `if no smokestack command is running, remove ${lockDir}`,
      });
    }
    await sleep(delay + Math.random() * delay);
    delay = Math.min(delay * 2, 50);
  }
}

function touch(dir: string): void {
  const now = new Date();
  try {
    fs.utimesSync(dir, now, now);
  } catch {
    // The lock may have been released between ticks.
  }
}

function readOwner(lockDir: string): LockOwner | undefined {
  try {
    return JSON.parse(fs.readFileSync(`${lockDir}/owner`, 'utf8')) as LockOwner;
  } catch {
    return undefined;
  }
}

/** Whether a process of this machine still runs (EPERM: it does, as another user). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isStale(lockDir: string, staleMs: number): boolean {
  let mtimeMs: number;
  try {
    mtimeMs = fs.statSync(lockDir).mtimeMs;
  } catch {
    return false; // released meanwhile: just retry
  }
  const owner = readOwner(lockDir);
  if (owner && owner.host === os.hostname()) return !pidAlive(owner.pid);
  // No owner file yet (the creator is between mkdir and write, or died there), or another host.
  const grace = owner ? staleMs : Math.min(staleMs, 2000);
  return Date.now() - mtimeMs > grace;
}

/** Moves the stale lock aside atomically so two processes cannot both break it and both win. */
function breakLock(lockDir: string): void {
  const aside = `${lockDir}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    fs.renameSync(lockDir, aside);
  } catch {
    return; // someone else broke it first
  }
  const owner = readOwner(aside);
  if (owner && owner.host === os.hostname() && pidAlive(owner.pid)) {
    // Between our check and the rename a live process took the lock: give it back.
    try {
      fs.renameSync(aside, lockDir);
      return;
    } catch {
      // The directory exists again; the live owner will find its lock gone when it releases.
    }
  }
  fs.rmSync(aside, { recursive: true, force: true });
}
