import type { SimFiles } from './types.js';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { execaSync } from 'execa';
import { epochSeconds } from './format.js';

export interface CommitInput {
  parent?: string;
  files: SimFiles;
  message: string;
  author: { name: string; email: string };
  date: Date;
}

/**
 * Bare repositories under `${root}/<project>.git`, written with git plumbing so the scenario API stays synchronous
 * and no worktree or global git identity is needed.
 */
export class GitRepos {
  constructor(readonly root: string) {}

  repoPath(project: string): string {
    return path.join(this.root, `${project}.git`);
  }

  url(project: string): string {
    return pathToFileURL(this.repoPath(project)).href;
  }

  exists(project: string): boolean {
    return fs.existsSync(path.join(this.repoPath(project), 'HEAD'));
  }

  init(project: string, branch: string): void {
    const repo = this.repoPath(project);
    fs.mkdirSync(repo, { recursive: true });
    execaSync('git', ['init', '--bare', '--quiet', `--initial-branch=${branch}`, repo], { env: this.env(), extendEnv: false });
  }

  /** Writes a commit whose tree is the parent's tree plus `files`; returns its sha. */
  commit(project: string, input: CommitInput): string {
    const index = path.join(this.repoPath(project), `sim-index-${process.pid}`);
    const when = `${epochSeconds(input.date)} +0000`;
    const env = {
      ...this.env(),
      GIT_INDEX_FILE: index,
      GIT_AUTHOR_NAME: input.author.name,
      GIT_AUTHOR_EMAIL: input.author.email,
      GIT_AUTHOR_DATE: when,
      GIT_COMMITTER_NAME: input.author.name,
      GIT_COMMITTER_EMAIL: input.author.email,
      GIT_COMMITTER_DATE: when,
    };
    try {
      this.git(project, input.parent ? ['read-tree', input.parent] : ['read-tree', '--empty'], env);
      const entries = Object.entries(input.files).map(([file, entry]) => {
        const content = typeof entry === 'string' ? entry : entry.content;
        const mode = typeof entry !== 'string' && entry.executable ? '100755' : '100644';
        const blob = this.git(project, ['hash-object', '-w', '--stdin'], env, content);
        return `${mode} ${blob}\t${file}`;
      });
      if (entries.length) this.git(project, ['update-index', '--add', '--index-info'], env, `${entries.join('\n')}\n`);
      const tree = this.git(project, ['write-tree'], env);
      return this.git(project, ['commit-tree', tree, ...(input.parent ? ['-p', input.parent] : []), '-F', '-'], env, input.message);
    } finally {
      fs.rmSync(index, { force: true });
    }
  }

  updateRef(project: string, ref: string, sha: string): void {
    this.git(project, ['update-ref', ref, sha], this.env());
  }

  resolve(project: string, rev: string): string | undefined {
    try {
      return this.git(project, ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`], this.env());
    } catch {
      return undefined;
    }
  }

  /** The caller's environment without GIT_* variables that would point git elsewhere. */
  private env(): Record<string, string> {
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(process.env)) if (value !== undefined && !key.startsWith('GIT_')) env[key] = value;
    return { ...env, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0' };
  }

  private git(project: string, args: string[], env: Record<string, string>, input?: string): string {
    const result = execaSync('git', args, {
      cwd: this.repoPath(project),
      env,
      extendEnv: false,
      input: input ?? '',
    });
    return result.stdout.trim();
  }
}
