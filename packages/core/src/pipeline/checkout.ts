import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UserError, errorMessage } from '../errors.js';

/** One file that differs between a checkout's last commit and what a job ships. */
export interface UncommittedFile {
  status: 'added' | 'modified' | 'deleted';
  path: string;
}

/**
 * A local source as it is on disk, committed into a throwaway commit so it can be shipped in a
 * git bundle: a checkout with its uncommitted edits and new files (ignored files left out), or a
 * plain directory that is no git checkout at all (the repository's examples).
 */
export interface CheckoutSnapshot {
  dir: string;
  /** The checkout's HEAD; absent for a plain directory. */
  head?: string;
  /** The commit shipped: HEAD itself when nothing is uncommitted. */
  commit: string;
  /** The object directory that holds `commit`. */
  objects: string;
  /** Files that differ from HEAD (for a plain directory: none; `files` counts what went in). */
  uncommitted: UncommittedFile[];
  files: number;
}

async function git(args: string[], cwd: string, env: Record<string, string> = {}): Promise<string> {
  try {
    const { execa } = await import('execa');
    const { stdout } = await execa('git', args, { cwd, env: { ...env, GIT_AUTHOR_NAME: 'SmokeStack', GIT_AUTHOR_EMAIL: 'smokestack@localhost', GIT_COMMITTER_NAME: 'SmokeStack', GIT_COMMITTER_EMAIL: 'smokestack@localhost' } });
    return stdout.trim();
  } catch (err) {
    throw new UserError(`git ${args[0]} in ${cwd} failed: ${errorMessage(err).split('\n').pop()}`);
  }
}

/** Author and committer date of a snapshot commit, in seconds since the epoch. */
function commitDate(seconds: string): Record<string, string> {
  const date = `@${seconds} +0000`;
  return { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date };
}

const STATUS: Record<string, UncommittedFile['status']> = { A: 'added', M: 'modified', D: 'deleted', T: 'modified' };

/** Commits the working tree through a copy of the index, so the user's index, HEAD and refs stay as they are. */
async function snapshotWorkTree(dir: string): Promise<CheckoutSnapshot> {
  const head = await git(['rev-parse', '--verify', '--quiet', 'HEAD^{commit}'], dir).catch(() => {
    throw new UserError(`${dir}: a git checkout without any commit yet`, { hint: 'commit once (git commit), or remove its .git to ship the directory as it is' });
  });
  const index = await git(['rev-parse', '--path-format=absolute', '--git-path', 'index'], dir);
  const objects = await git(['rev-parse', '--path-format=absolute', '--git-path', 'objects'], dir);
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-index-'));
  try {
    const env = { GIT_INDEX_FILE: path.join(scratch, 'index') };
    // Starting from the real index keeps its stat data, so only changed files are hashed again.
    if (fs.existsSync(index)) fs.copyFileSync(index, env.GIT_INDEX_FILE);
    await git(['add', '--all', '--', '.'], dir, env);
    const tree = await git(['write-tree'], dir, env);
    const diff = await git(['diff-index', '--cached', '--no-renames', '--name-status', '-z', head], dir, env);
    const uncommitted = parseNameStatus(diff);
    // Dated as HEAD: the same edits on the same HEAD are the same commit, so a build of them can be reused.
    const dated = { ...env, ...commitDate(await git(['log', '-1', '--format=%ct', head], dir)) };
    const commit = uncommitted.length === 0 ? head : await git(['commit-tree', tree, '-p', head, '-m', 'SmokeStack: uncommitted changes'], dir, dated);
    const files = Number((await git(['ls-files', '--cached'], dir, env)).split('\n').filter(Boolean).length);
    return { dir, head, commit, objects, uncommitted, files };
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/** A directory that is no checkout: every file but those its .gitignore files leave out, in a scratch repository. */
async function snapshotPlainDirectory(dir: string, scratchRoot: string): Promise<CheckoutSnapshot> {
  const gitDir = fs.mkdtempSync(path.join(scratchRoot, 'plain-'));
  await git(['init', '-q', '--bare', gitDir], scratchRoot);
  const env = { GIT_DIR: gitDir, GIT_WORK_TREE: dir, GIT_INDEX_FILE: path.join(gitDir, 'index') };
  await git(['add', '--all', '--', '.'], dir, env);
  const tree = await git(['write-tree'], dir, env);
  // Undated (the epoch): the same files are the same commit, so a build of them can be reused.
  const commit = await git(['commit-tree', tree, '-m', `SmokeStack: the directory ${dir}`], dir, { ...env, ...commitDate('0') });
  const files = (await git(['ls-files', '--cached'], dir, env)).split('\n').filter(Boolean).length;
  return { dir, commit, objects: path.join(gitDir, 'objects'), uncommitted: [], files };
}

/** Pure: `git diff --name-status -z` output as files. */
export function parseNameStatus(output: string): UncommittedFile[] {
  const parts = output.split('\0').filter((p) => p !== '');
  const out: UncommittedFile[] = [];
  for (let i = 0; i + 1 < parts.length; i += 2) out.push({ status: STATUS[parts[i]!.charAt(0)] ?? 'modified', path: parts[i + 1]! });
  return out;
}

/** Whether a directory is the top of a git working tree (a plain subdirectory of one is not). */
export function isCheckoutTop(dir: string): boolean {
  return fs.existsSync(path.join(dir, '.git'));
}

/** Takes the snapshot of a local source; `scratchRoot` holds what a plain directory needs. */
export function snapshotLocalSource(dir: string, scratchRoot: string): Promise<CheckoutSnapshot> {
  return isCheckoutTop(dir) ? snapshotWorkTree(dir) : snapshotPlainDirectory(dir, scratchRoot);
}

/** Writes a git bundle whose HEAD is the snapshot's commit (the build fetches HEAD from it). */
export async function bundleSnapshot(snapshot: CheckoutSnapshot, file: string, scratchRoot: string): Promise<void> {
  const gitDir = fs.mkdtempSync(path.join(scratchRoot, 'bundle-'));
  try {
    await git(['init', '-q', '--bare', gitDir], scratchRoot);
    // Borrow the source's objects instead of copying them; nothing is written to the user's repository.
    fs.writeFileSync(path.join(gitDir, 'objects', 'info', 'alternates'), `${snapshot.objects}\n`);
    await git(['update-ref', 'refs/heads/source', snapshot.commit], scratchRoot, { GIT_DIR: gitDir });
    await git(['symbolic-ref', 'HEAD', 'refs/heads/source'], scratchRoot, { GIT_DIR: gitDir });
    await git(['bundle', 'create', '-q', file, 'HEAD'], scratchRoot, { GIT_DIR: gitDir });
  } finally {
    fs.rmSync(gitDir, { recursive: true, force: true });
  }
}

/** Pure: the line a run prints first for a local source: which revision, and which uncommitted files went in. */
export function describeSnapshot(project: string, s: CheckoutSnapshot, shown = 10): string {
  if (!s.head) return `${project}: the directory ${s.dir} (no git checkout), ${s.files} file(s) as they are`;
  const at = `${project}: ${s.dir} at ${s.head.slice(0, 12)}`;
  if (s.uncommitted.length === 0) return `${at}, nothing uncommitted`;
  const names = s.uncommitted.slice(0, shown).map((f) => `${f.path} (${f.status})`);
  const more = s.uncommitted.length > shown ? `, and ${s.uncommitted.length - shown} more` : '';
  return `${at} with ${s.uncommitted.length} uncommitted file(s): ${names.join(', ')}${more}`;
}
