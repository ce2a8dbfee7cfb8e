import { expect } from 'chai';
import { chooseDependency, outdatedDependency, rootsToResolve, walkDependencies, type DependencyAnswers, type DependencyRoot } from '../../src/bellows/dependencies.js';
import type { Change } from '../../src/model.js';
import { change } from './fixtures.js';

const GERRIT = 'https://review.example.org';
const options = { gerritUrl: GERRIT, gitUrl: (p: string) => `https://git.example.org/${p}` };
const url = (c: Change) => `${GERRIT}/c/${c.project}/+/${c.number}`;

/** A change of `project` depending on the given footers. */
const dep = (number: number, project: string, dependsOn: string[] = [], fields: Partial<Change> = {}): Change =>
  change(number, 2, { project, changeId: `I${String(number).padStart(40, '0')}`, dependsOn, ...fields });

/** Gerrit's answers: every change by its URL key and its Change-Id. */
function answers(...changes: Change[]): DependencyAnswers {
  const out = new Map<string, Change[]>();
  for (const c of changes) {
    out.set(`${c.project}~${c.number}`, [c]);
    out.set(c.changeId, [...(out.get(c.changeId) ?? []), c]);
  }
  return out;
}

const root = (dependsOn: string[]): DependencyRoot => ({ project: 'nova', number: 1, branch: 'master', dependsOn });
const resolved = (walk: ReturnType<typeof walkDependencies>) => {
  if (walk.kind !== 'resolved') throw new Error(`expected a resolution, got ${JSON.stringify(walk)}`);
  return walk.resolution;
};

describe('bellows/dependencies: following Depends-On', () => {
  it('orders a chain across projects so each change comes after the changes it needs', () => {
    const c = dep(30, 'nova');
    const b = dep(20, 'glance', [url(c)]);
    const r = resolved(walkDependencies(root([b.changeId]), answers(b, c), options));
    expect(r.dependencies.map((d) => `${d.project} ${d.number},${d.patchSet} ${d.ref}`)).to.deep.equal(['nova 30,2 refs/changes/30/30/2', 'glance 20,2 refs/changes/20/20/2']);
    expect(r.dependencies[1]).to.deep.include({ url: 'https://git.example.org/glance', status: 'NEW', branch: 'master' });
    expect(r.problem).to.equal(undefined);
  });

  it('takes a change two others depend on once, before both', () => {
    const base = dep(40, 'oslo');
    const left = dep(41, 'glance', [base.changeId]);
    const right = dep(42, 'cinder', [base.changeId]);
    const r = resolved(walkDependencies(root([left.changeId, right.changeId]), answers(base, left, right), options));
    expect(r.dependencies.map((d) => d.number)).to.deep.equal([40, 41, 42]);
  });

  it('reports a cycle naming it, and never follows it', () => {
    const b = dep(20, 'glance');
    const c = dep(30, 'cinder', [b.changeId]);
    b.dependsOn = [c.changeId];
    expect(resolved(walkDependencies(root([b.changeId]), answers(b, c), options))).to.deep.equal({ dependencies: [], problem: 'Depends-On cycle: glance 20 → cinder 30 → glance 20', ignored: [] });
    const back = dep(20, 'glance', [`${GERRIT}/c/nova/+/1`]);
    const self = change(1, 2, { changeId: 'I1' });
    expect(resolved(walkDependencies(root([back.changeId]), answers(back, self), options)).problem).to.equal('Depends-On cycle: nova 1 → glance 20 → nova 1');
  });

  it('an abandoned or unknown change stops the walk with one line; a merged one is taken from its branch, not followed', () => {
    const abandoned = dep(20, 'glance', [], { status: 'ABANDONED', subject: 'Old quota API' });
    expect(resolved(walkDependencies(root([abandoned.changeId]), answers(abandoned), options)).problem).to.equal('Depends-On glance 20 (Old quota API) is abandoned');
    const gone = `${GERRIT}/c/glance/+/99`;
    expect(resolved(walkDependencies(root([gone]), new Map([['glance~99', []]]), options)).problem).to.equal(`Depends-On: ${gone}: Gerrit shows no such change`);
    expect(resolved(walkDependencies(root(['see the glance change']), new Map(), options)).problem).to.match(/^Depends-On: see the glance change names no change/);
    const merged = dep(21, 'glance', ['I-never-asked-for'], { status: 'MERGED', branch: 'stable/x' });
    expect(resolved(walkDependencies(root([merged.changeId]), answers(merged), options)).dependencies).to.deep.equal([
      { project: 'glance', number: 21, changeId: merged.changeId, branch: 'stable/x', status: 'MERGED', patchSet: 2, revision: 'rev-21-2', ref: 'refs/heads/stable/x', url: 'https://git.example.org/glance' },
    ]);
  });

  it('asks for what Gerrit has not answered yet, and ignores changes of other servers', () => {
    const walk = walkDependencies(root(['https://github.com/org/repo/pull/4', `${GERRIT}/c/glance/+/20`, `I${'a'.repeat(40)}`]), new Map(), options);
    expect(walk).to.deep.equal({ kind: 'ask', refs: [{ kind: 'number', project: 'glance', number: 20 }, { kind: 'changeId', changeId: `I${'a'.repeat(40)}` }] });
    expect(resolved(walkDependencies(root(['https://github.com/org/repo/pull/4']), new Map(), options))).to.deep.equal({ dependencies: [], ignored: ['https://github.com/org/repo/pull/4'] });
  });

  it('of the changes one Change-Id names, takes the one on the depending change’s branch, then the open one', () => {
    const stable = dep(50, 'glance', [], { branch: 'stable/x' });
    const master = dep(51, 'glance', [], { status: 'MERGED' });
    const masterOpen = dep(52, 'glance');
    expect(chooseDependency([stable, master, masterOpen], 'master')!.number).to.equal(52);
    expect(chooseDependency([stable, master], 'stable/x')!.number).to.equal(50);
    expect(chooseDependency([], 'master')).to.equal(undefined);
  });

  it('a job is outdated when a change it depends on has a newer patch set, or it lacks one; merged ones do not count', () => {
    const config = { dependencies: [{ project: 'glance', number: 20, branch: 'master', status: 'NEW' as const, patchSet: 3, revision: 'r', ref: 'x', url: 'u' }] };
    expect(outdatedDependency({ dependencies: [{ ...config.dependencies[0]!, patchSet: 2 }] }, config)?.number).to.equal(20);
    expect(outdatedDependency({}, config)?.number).to.equal(20);
    expect(outdatedDependency({ dependencies: config.dependencies }, config)).to.equal(undefined);
    expect(outdatedDependency({}, { dependencies: [{ ...config.dependencies[0]!, status: 'MERGED' }] })).to.equal(undefined);
  });

  it('resolves again the configs a batch of changes may have moved, those whose problem deserves another look, and those depending on a project no sweep watches', () => {
    const d = { project: 'glance', number: 20, branch: 'master', status: 'NEW' as const, patchSet: 1, revision: 'r', ref: 'x', url: 'u' };
    const configs = {
      'nova~5': { id: 'nova~5', project: 'nova', branch: 'master', number: 5, dependsOn: ['I20'], dependencies: [d] },
      'nova~6': { id: 'nova~6', project: 'nova', branch: 'master', number: 6, dependsOn: ['I99'], dependencyProblem: 'Depends-On: I99: Gerrit shows no such change' },
      'nova~7': { id: 'nova~7', project: 'nova', branch: 'master', number: 7, dependsOn: ['I20'], dependencies: [{ ...d, patchSet: 2 }] },
    } as never;
    const glance20 = change(20, 2, { project: 'glance' });
    const nova8 = change(8, 1, { dependsOn: ['I20'] });
    const nova = [{ name: 'nova', branch: 'master' }];
    const both = [...nova, { name: 'glance', branch: 'master' }];
    expect(rootsToResolve({ configs }, [glance20, nova8], nova, both).map((r) => r.configId)).to.deep.equal(['nova~8', 'nova~5', 'nova~6']);
    expect(rootsToResolve({ configs }, [glance20], [both[1]!], both).map((r) => r.configId)).to.deep.equal(['nova~5']);
    // glance not synced by anyone: its moves only show when nova's configs that depend on it are asked again.
    expect(rootsToResolve({ configs }, [], nova, nova).map((r) => r.configId)).to.deep.equal(['nova~5', 'nova~6', 'nova~7']);
  });

  it('does not ask again for a change whose config rests on the same patch set and footers', () => {
    const configs = { 'nova~8': { id: 'nova~8', project: 'nova', branch: 'master', number: 8, revision: 'rev-8-1', dependsOn: ['I20'], dependencies: [] } } as never;
    const nova = [{ name: 'nova', branch: 'master' }];
    expect(rootsToResolve({ configs }, [change(8, 1, { dependsOn: ['I20'] })], nova)).to.deep.equal([]);
    expect(rootsToResolve({ configs }, [change(8, 1, { dependsOn: ['I21'] })], nova).map((r) => r.configId)).to.deep.equal(['nova~8']);
    expect(rootsToResolve({ configs }, [change(8, 2, { dependsOn: ['I20'] })], nova).map((r) => r.configId)).to.deep.equal(['nova~8']);
  });
});
