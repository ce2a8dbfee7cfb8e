import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { bundleSnapshot, describeSnapshot, snapshotLocalSource } from '../../src/pipeline/checkout.js';

const git = (cwd: string, ...args: string[]) => execFileSync('git', ['-c', 'user.name=T', '-c', 'user.email=t@example.org', ...args], { cwd, encoding: 'utf8' }).trim();

/** What a build host gets: the bundle's HEAD checked out in an empty directory. */
function unbundle(file: string, into: string): string[] {
  fs.mkdirSync(into, { recursive: true });
  git(into, 'init', '-q');
  git(into, 'fetch', '-q', file, 'HEAD');
  git(into, 'checkout', '-q', '--detach', 'FETCH_HEAD');
  return git(into, 'ls-files').split('\n').filter(Boolean).sort();
}

describe('pipeline/checkout (what a local source ships)', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-checkout-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('ships the working tree as it is: edits, new and deleted files, never ignored ones; the checkout is left untouched', async () => {
    const repo = path.join(dir, 'repo');
    fs.mkdirSync(repo);
    git(repo, 'init', '-q', '-b', 'main');
    fs.writeFileSync(path.join(repo, 'kept.txt'), 'v1\n');
    fs.writeFileSync(path.join(repo, 'gone.txt'), 'bye\n');
    fs.writeFileSync(path.join(repo, '.gitignore'), '*.log\n');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'one');
    const head = git(repo, 'rev-parse', 'HEAD');
    fs.writeFileSync(path.join(repo, 'kept.txt'), 'v2, not committed\n');
    fs.rmSync(path.join(repo, 'gone.txt'));
    fs.mkdirSync(path.join(repo, 'sub'));
    fs.writeFileSync(path.join(repo, 'sub', 'new.txt'), 'new\n');
    fs.writeFileSync(path.join(repo, 'build.log'), 'ignored\n');
    const status = git(repo, 'status', '--porcelain');

    const snapshot = await snapshotLocalSource(repo, dir);
    expect(snapshot.head).to.equal(head);
    expect(snapshot.commit).to.not.equal(head);
    expect(snapshot.uncommitted).to.deep.equal([
      { status: 'deleted', path: 'gone.txt' },
      { status: 'modified', path: 'kept.txt' },
      { status: 'added', path: 'sub/new.txt' },
    ]);
    expect(describeSnapshot('demoapp', snapshot)).to.equal(
      `demoapp: ${repo} at ${head.slice(0, 12)} with 3 uncommitted file(s): gone.txt (deleted), kept.txt (modified), sub/new.txt (added)`,
    );

    const bundle = path.join(dir, 'source.bundle');
    await bundleSnapshot(snapshot, bundle, dir);
    const built = path.join(dir, 'built');
    expect(unbundle(bundle, built)).to.deep.equal(['.gitignore', 'kept.txt', 'sub/new.txt']);
    expect(fs.readFileSync(path.join(built, 'kept.txt'), 'utf8')).to.equal('v2, not committed\n');
    expect(git(built, 'rev-parse', 'HEAD^')).to.equal(head);

    expect(git(repo, 'status', '--porcelain')).to.equal(status);
    expect(git(repo, 'rev-parse', 'HEAD')).to.equal(head);
    expect(git(repo, 'for-each-ref', '--format=%(refname)')).to.equal('refs/heads/main');
  });

  it('ships a clean checkout as its HEAD commit', async () => {
    const repo = path.join(dir, 'repo');
    fs.mkdirSync(repo);
    git(repo, 'init', '-q');
    fs.writeFileSync(path.join(repo, 'a'), 'a\n');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'a');
    const snapshot = await snapshotLocalSource(repo, dir);
    expect(snapshot.commit).to.equal(git(repo, 'rev-parse', 'HEAD'));
    expect(describeSnapshot('p', snapshot)).to.equal(`p: ${repo} at ${snapshot.commit.slice(0, 12)}, nothing uncommitted`);
  });

  it('ships a directory that is no git checkout as it is, minus what its .gitignore leaves out, without creating a repository in it', async () => {
    const plain = path.join(dir, 'plain');
    fs.mkdirSync(path.join(plain, 'debian'), { recursive: true });
    fs.writeFileSync(path.join(plain, 'debian', 'control'), 'Source: x\n');
    fs.writeFileSync(path.join(plain, '.gitignore'), 'out/\n');
    fs.mkdirSync(path.join(plain, 'out'));
    fs.writeFileSync(path.join(plain, 'out', 'junk'), 'x');
    const snapshot = await snapshotLocalSource(plain, dir);
    expect(snapshot.head).to.equal(undefined);
    expect(describeSnapshot('demoapp', snapshot)).to.equal(`demoapp: the directory ${plain} (no git checkout), 2 file(s) as they are`);
    const bundle = path.join(dir, 'plain.bundle');
    await bundleSnapshot(snapshot, bundle, dir);
    expect(unbundle(bundle, path.join(dir, 'built'))).to.deep.equal(['.gitignore', 'debian/control']);
    expect(fs.existsSync(path.join(plain, '.git'))).to.equal(false);
  });

  it('the same edits on the same HEAD, or the same files of a plain directory, ship as the same commit (a build of them can be reused); a change is another', async () => {
    const repo = path.join(dir, 'repo');
    fs.mkdirSync(repo);
    git(repo, 'init', '-q');
    fs.writeFileSync(path.join(repo, 'a'), 'a\n');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'a');
    fs.writeFileSync(path.join(repo, 'a'), 'edited\n');
    const first = await snapshotLocalSource(repo, dir);
    // A second later, as a developer running again without touching anything.
    await new Promise((r) => setTimeout(r, 1100));
    expect((await snapshotLocalSource(repo, dir)).commit).to.equal(first.commit);
    fs.writeFileSync(path.join(repo, 'a'), 'edited again\n');
    expect((await snapshotLocalSource(repo, dir)).commit).to.not.equal(first.commit);

    const plain = path.join(dir, 'plain');
    fs.mkdirSync(plain);
    fs.writeFileSync(path.join(plain, 'b'), 'b\n');
    const once = await snapshotLocalSource(plain, fs.mkdtempSync(path.join(dir, 's1-')));
    await new Promise((r) => setTimeout(r, 1100));
    expect((await snapshotLocalSource(plain, fs.mkdtempSync(path.join(dir, 's2-')))).commit).to.equal(once.commit);
    fs.writeFileSync(path.join(plain, 'b'), 'changed\n');
    expect((await snapshotLocalSource(plain, fs.mkdtempSync(path.join(dir, 's3-')))).commit).to.not.equal(once.commit);
  });

  it('refuses a checkout without any commit in one line that says what to do', async () => {
    const repo = path.join(dir, 'empty');
    fs.mkdirSync(repo);
    git(repo, 'init', '-q');
    fs.writeFileSync(path.join(repo, 'a'), 'a\n');
    const err = await snapshotLocalSource(repo, dir).then(() => undefined, (e: Error & { line?: string }) => e);
    expect(err?.line).to.equal(`${repo}: a git checkout without any commit yet (commit once (git commit), or remove its .git to ship the directory as it is)`);
  });
});
