import type { SimFiles } from './types.js';
import { SimRequestError } from './errors.js';
import { changeRef, epochSeconds, formatVote, LABELS, sha1Hex } from './format.js';
import type { GitRepos } from './git.js';
import { accountAttribute, approvalAttribute, changeAttribute, commitMessage, composeCommitMessage, currentPatchSet, patchSetAttribute, type RenderContext } from './json.js';
import { compareChanges, compileQuery, sortKey } from './query.js';
import type {
  CommentInput, CreateChangeInput, GerritUser, SimAccount, SimApproval, SimChange, SimPatchSet, SimReview, UploadPatchSetInput,
} from './types.js';

export type StreamEvent = Record<string, unknown> & { type: string; eventCreatedOn: number };

export interface SimStateOptions {
  users: GerritUser[];
  pageCap: number;
  clock: () => Date;
  git?: GitRepos;
  /** called for every stream event, in order */
  publish: (event: StreamEvent) => void;
}

export interface ReviewInput {
  message?: string;
  labels?: Record<string, number>;
  tag?: string;
  notify?: string;
  work_in_progress?: boolean;
  ready?: boolean;
}

interface Project {
  name: string;
  headBranch: string;
  /** branch name → tip sha */
  branches: Map<string, string>;
}

export interface SearchResult {
  changes: SimChange[];
  more: boolean;
}

/** The simulated Gerrit site: accounts, projects, changes, votes; every mutation publishes its stream event. */
export class SimState {
  readonly accounts = new Map<string, SimAccount>();
  readonly projects = new Map<string, Project>();
  readonly changes = new Map<number, SimChange>();
  readonly reviewLog: SimReview[] = [];
  webUrl = 'http://127.0.0.1';
  nextNumber = 1;
  private readonly byProject = new Map<string, SimChange[]>();
  private nextAccountId = 1000000;
  private readonly git?: GitRepos;

  constructor(private readonly options: SimStateOptions) {
    this.git = options.git;
    for (const user of options.users) this.addUser(user);
  }

  get pageCap(): number {
    return this.options.pageCap;
  }

  now(): Date {
    return this.options.clock();
  }

  renderContext(): RenderContext {
    const webUrl = this.webUrl;
    return { account: (u) => this.account(u), webUrl, fetch: (p, r) => this.fetchInfo(p, r) };
  }

  private fetchInfo(project: string, ref: string): Record<string, { url: string; ref: string }> {
    const http = { 'anonymous http': { url: `${this.webUrl}/${project}`, ref } };
    return this.git ? { ...http, file: { url: this.git.url(project), ref } } : http;
  }

  // ------------------------------------------------------------ accounts

  addUser(user: GerritUser): SimAccount {
    const accountId = user.accountId ?? this.nextAccountId;
    this.nextAccountId = Math.max(this.nextAccountId, accountId + 1);
    const account: SimAccount = {
      accountId, username: user.username, name: user.name, email: user.email, password: user.password,
      sshPublicKey: user.sshPublicKey, streamEvents: user.streamEvents ?? true,
    };
    this.accounts.set(user.username, account);
    return account;
  }

  /** The account of `username`, created on first use so scenarios can name anyone. */
  account(username: string): SimAccount {
    return this.accounts.get(username) ?? this.addUser({ username, password: '', name: username, email: `${username}@example.org` });
  }

  authenticate(username: string, password: string): SimAccount | undefined {
    const account = this.accounts.get(username);
    return account?.password && account.password === password ? account : undefined;
  }

  defaultOwner(): string {
    if (this.accounts.has('alice')) return 'alice';
    return this.accounts.keys().next().value ?? 'alice';
  }

  // ------------------------------------------------------------ projects

  createProject(name: string, options: { branch?: string; files?: SimFiles } = {}): void {
    const branch = options.branch ?? 'master';
    let project = this.projects.get(name);
    if (!project) {
      project = { name, headBranch: branch, branches: new Map() };
      this.projects.set(name, project);
      this.byProject.set(name, []);
      if (this.git && !this.git.exists(name)) this.git.init(name, branch);
    }
    if (project.branches.has(branch)) return;
    let tip: string;
    if (this.git) {
      const base = project.branches.get(project.headBranch);
      tip = this.git.commit(name, {
        parent: base,
        files: options.files ?? (base ? {} : { README: `${name}\n` }),
        message: base ? `Create branch ${branch}\n` : `Initial commit\n`,
        author: { name: 'Gerrit Code Review', email: 'gerrit@example.org' },
        date: this.now(),
      });
      this.git.updateRef(name, `refs/heads/${branch}`, tip);
    } else {
      tip = sha1Hex(name, branch, 'initial');
    }
    project.branches.set(branch, tip);
  }

  branchTip(project: string, branch: string): string | undefined {
    return this.projects.get(project)?.branches.get(branch);
  }

  // ------------------------------------------------------------ changes

  changesOfProject(project: string): SimChange[] {
    return this.byProject.get(project) ?? [];
  }

  getChange(number: number): SimChange | undefined {
    return this.changes.get(number);
  }

  requireChange(number: number): SimChange {
    const change = this.changes.get(number);
    if (!change) throw new Error(`Gerrit simulator: no change ${number}`);
    return change;
  }

  /** Resolves a REST change id: `project~number`, `number`, `project~branch~Ixxx` or a bare Change-Id. */
  findChange(id: string): SimChange | undefined {
    if (/^\d+$/.test(id)) return this.changes.get(Number(id));
    const parts = id.split('~');
    if (parts.length === 2 && /^\d+$/.test(parts[1]!)) {
      const change = this.changes.get(Number(parts[1]));
      return change?.project === parts[0] ? change : undefined;
    }
    if (parts.length === 3) return this.changesOfProject(parts[0]!).find((c) => c.branch === parts[1] && c.changeId === parts[2]);
    if (/^I[0-9a-f]{40}$/.test(id)) {
      const found = [...this.changes.values()].filter((c) => c.changeId === id);
      return found.length === 1 ? found[0] : undefined;
    }
    return undefined;
  }

  /** `current`, a patch set number, or a (prefix of a) commit sha. */
  findPatchSet(change: SimChange, revision: string): SimPatchSet | undefined {
    if (revision === 'current') return currentPatchSet(change);
    if (/^\d+$/.test(revision) && revision.length < 7) return change.patchSets.find((ps) => ps.number === Number(revision));
    if (/^[0-9a-f]{4,40}$/i.test(revision)) {
      const found = change.patchSets.filter((ps) => ps.revision.startsWith(revision.toLowerCase()));
      return found.length === 1 ? found[0] : undefined;
    }
    return undefined;
  }

  /** `after`: an old server's resume sort key (N=): only changes sorted after it. */
  search(query: string, opts: { limit?: number; start?: number; after?: string; self?: string }): SearchResult {
    const compiled = compileQuery(query, {
      now: this.now(),
      self: opts.self,
      account: (u) => this.accounts.get(u),
      changesOfProject: (p) => this.changesOfProject(p),
      change: (n) => this.changes.get(n),
    });
    const limit = Math.min(opts.limit ?? this.pageCap, this.pageCap, compiled.limit ?? Infinity);
    const start = opts.start ?? 0;
    const matches: SimChange[] = [];
    for (const change of compiled.candidates ?? this.changes.values()) {
      if (compiled.match(change) && (opts.after === undefined || sortKey(change) < opts.after)) matches.push(change);
    }
    matches.sort(compareChanges);
    return { changes: matches.slice(start, start + limit), more: matches.length > start + limit };
  }

  createChange(input: CreateChangeInput): SimChange {
    const branch = input.branch ?? this.projects.get(input.project)?.headBranch ?? 'master';
    this.createProject(input.project, { branch });
    const owner = input.owner ?? this.defaultOwner();
    this.account(owner);
    const created = input.created ?? this.now();
    const number = this.nextNumber++;
    const change: SimChange = {
      number,
      project: input.project,
      branch,
      changeId: `I${sha1Hex(input.project, number, 'Change-Id')}`,
      subject: input.subject,
      owner,
      ...(input.topic !== undefined ? { topic: input.topic } : {}),
      status: 'NEW',
      wip: input.wip ?? false,
      created,
      updated: created,
      patchSets: [],
      messages: [],
      approvals: [],
    };
    this.changes.set(number, change);
    this.byProject.get(input.project)!.push(change);
    const ps = this.addPatchSet(change, { files: input.files, uploader: owner, created, kind: 'REWORK', message: input.message });
    this.publishPatchSetCreated(change, ps);
    return change;
  }

  /** Puts back a change loaded from a scenario file, without events. */
  restoreChange(change: SimChange): void {
    this.account(change.owner);
    this.changes.set(change.number, change);
    this.byProject.get(change.project)!.push(change);
    this.nextNumber = Math.max(this.nextNumber, change.number + 1);
  }

  uploadPatchSet(number: number, input: UploadPatchSetInput = {}): SimPatchSet {
    const change = this.requireChange(number);
    if (change.status !== 'NEW') throw new Error(`Gerrit simulator: change ${number} is closed`);
    if (input.subject !== undefined) change.subject = input.subject;
    const ps = this.addPatchSet(change, {
      files: input.files, uploader: input.uploader ?? change.owner, created: input.created ?? this.now(), kind: input.kind ?? 'REWORK', message: input.message,
    });
    this.publishPatchSetCreated(change, ps);
    return ps;
  }

  private addPatchSet(change: SimChange, input: { files?: SimFiles; uploader: string; created: Date; kind: string; message?: string }): SimPatchSet {
    this.account(input.uploader);
    const number = change.patchSets.length + 1;
    const previous = change.patchSets[change.patchSets.length - 1];
    const generated = { [`changes/${change.number}.txt`]: `${change.subject}\npatch set ${number}\n` };
    const files = input.files ?? { ...(previous?.files ?? {}), ...generated };
    const parent = this.branchTip(change.project, change.branch)!;
    const ref = changeRef(change.number, number);
    // A new patch set keeps the previous commit message (with its footers) unless given a new one.
    const message = input.message !== undefined || !previous ? composeCommitMessage(change.subject, input.message, change.changeId) : commitMessage(change, previous);
    let revision: string;
    if (this.git) {
      const owner = this.account(change.owner);
      revision = this.git.commit(change.project, { parent, files, message, author: owner, date: input.created });
      this.git.updateRef(change.project, ref, revision);
    } else {
      revision = sha1Hex(change.project, change.number, number);
    }
    const ps: SimPatchSet = { number, revision, ref, created: input.created, uploader: input.uploader, kind: input.kind, parent, files, message };
    change.patchSets.push(ps);
    change.updated = input.created;
    this.addMessage(change, input.uploader, `Uploaded patch set ${number}.`, input.created, change.wip ? 'autogenerated:gerrit:newWipPatchSet' : 'autogenerated:gerrit:newPatchSet');
    return ps;
  }

  private addMessage(change: SimChange, author: string, message: string, date: Date, tag?: string, patchSet?: number): void {
    change.messages.push({
      id: sha1Hex(change.number, change.messages.length, 'message'),
      author,
      date,
      message,
      patchSet: patchSet ?? currentPatchSet(change).number,
      ...(tag ? { tag } : {}),
    });
  }

  /** Records votes and a message on a patch set (Gerrit's PostReview); returns the labels applied. */
  applyReview(change: SimChange, ps: SimPatchSet, author: string, input: ReviewInput): Record<string, number> {
    const applied: Record<string, number> = {};
    for (const [label, value] of Object.entries(input.labels ?? {})) {
      const def = LABELS[label];
      if (!def) continue; // unknown labels are dropped, as on a non-strict server
      if (!Number.isInteger(value) || value < def.min || value > def.max) {
        throw new SimRequestError(400, `Applying label "${label}": ${value} is restricted`);
      }
      applied[label] = value;
    }
    const now = this.now();
    this.account(author);
    const oldValues: Record<string, number> = {};
    for (const [label, value] of Object.entries(applied)) {
      const existing = change.approvals.find((a) => a.label === label && a.by === author && a.patchSet === ps.number);
      oldValues[label] = existing?.value ?? 0;
      if (existing) {
        existing.value = value;
        existing.date = now;
        if (input.tag) existing.tag = input.tag; else delete existing.tag;
      } else {
        change.approvals.push({ label, value, by: author, date: now, patchSet: ps.number, ...(input.tag ? { tag: input.tag } : {}) });
      }
    }
    const votes = Object.entries(applied).map(([l, v]) => formatVote(l, v)).join(' ');
    const text = input.message?.trim() ?? '';
    if (votes || text) {
      const message = `Patch Set ${ps.number}:${votes ? ` ${votes}` : ''}${text ? `\n\n${text}` : ''}`;
      this.addMessage(change, author, message, now, input.tag, ps.number);
      change.updated = now;
      const approvals = Object.keys(LABELS).map((label) => {
        const approval = change.approvals.find((a) => a.label === label && a.by === author && a.patchSet === ps.number)
          ?? ({ label, value: 0, by: author, date: now, patchSet: ps.number } satisfies SimApproval);
        const changed = label in applied && oldValues[label] !== applied[label];
        return approvalAttribute(approval, this.renderContext(), changed ? oldValues[label] : undefined);
      });
      this.publishChangeEvent('comment-added', change, ps, {
        author: accountAttribute(this.account(author)),
        approvals,
        comment: message,
      });
    }
    if (input.work_in_progress && !change.wip) this.setWip(change.number, true, author);
    if (input.ready && change.wip) this.setWip(change.number, false, author);
    return applied;
  }

  /** A review sent by a client (REST or SSH): refused on closed changes, recorded for inspection. */
  postReview(change: SimChange, ps: SimPatchSet, author: string, input: ReviewInput, via: 'rest' | 'ssh'): Record<string, number> {
    if (change.status !== 'NEW') throw new SimRequestError(409, 'change is closed');
    const labels = this.applyReview(change, ps, author, input);
    this.reviewLog.push({
      number: change.number,
      patchSet: ps.number,
      revision: ps.revision,
      message: input.message ?? '',
      labels,
      ...(input.tag ? { tag: input.tag } : {}),
      by: author,
      at: this.now().toISOString(),
      via,
    });
    return labels;
  }

  comment(number: number, input: CommentInput): void {
    const change = this.requireChange(number);
    const ps = input.patchSet === undefined ? currentPatchSet(change) : change.patchSets.find((p) => p.number === input.patchSet);
    if (!ps) throw new Error(`Gerrit simulator: change ${number} has no patch set ${input.patchSet}`);
    this.applyReview(change, ps, input.author, { message: input.message, labels: input.labels, tag: input.tag });
  }

  setWip(number: number, wip: boolean, by?: string): void {
    const change = this.requireChange(number);
    if (change.wip === wip) return;
    const changer = by ?? change.owner;
    const now = this.now();
    change.wip = wip;
    change.updated = now;
    this.addMessage(change, changer, wip ? 'Set Work In Progress' : 'Set Ready For Review', now,
      wip ? 'autogenerated:gerrit:setWorkInProgress' : 'autogenerated:gerrit:setReadyForReview');
    this.publishChangeEvent('wip-state-changed', change, currentPatchSet(change), { changer: accountAttribute(this.account(changer)) });
  }

  merge(number: number, by?: string): void {
    const change = this.requireChange(number);
    if (change.status !== 'NEW') throw new Error(`Gerrit simulator: change ${number} is ${change.status}, cannot merge`);
    const submitter = by ?? change.owner;
    const ps = currentPatchSet(change);
    const refName = `refs/heads/${change.branch}`;
    const oldRev = this.branchTip(change.project, change.branch)!;
    let newRev = ps.revision;
    const now = this.now();
    if (this.git) {
      if (ps.parent !== oldRev) {
        // The branch moved since upload: submit rebases the patch set onto the tip (Gerrit's "rebase if necessary").
        newRev = this.git.commit(change.project, { parent: oldRev, files: ps.files, message: commitMessage(change, ps), author: this.account(change.owner), date: now });
      }
      this.git.updateRef(change.project, refName, newRev);
    }
    this.projects.get(change.project)!.branches.set(change.branch, newRev);
    change.status = 'MERGED';
    change.updated = now;
    change.submitted = now;
    change.submitter = submitter;
    this.addMessage(change, submitter, `Change has been successfully merged by ${this.account(submitter).name}`, now, 'autogenerated:gerrit:merged');
    const submitterAttr = accountAttribute(this.account(submitter));
    this.publish('ref-updated', { submitter: submitterAttr, refUpdate: { oldRev, newRev, refName, project: change.project } });
    this.publishChangeEvent('change-merged', change, ps, { submitter: submitterAttr, newRev });
  }

  abandon(number: number, reason?: string, by?: string): void {
    const change = this.requireChange(number);
    if (change.status !== 'NEW') throw new Error(`Gerrit simulator: change ${number} is ${change.status}, cannot abandon`);
    const abandoner = by ?? change.owner;
    const now = this.now();
    change.status = 'ABANDONED';
    change.updated = now;
    this.addMessage(change, abandoner, `Abandoned${reason ? `\n\n${reason}` : ''}`, now, 'autogenerated:gerrit:abandon');
    this.publishChangeEvent('change-abandoned', change, currentPatchSet(change), {
      abandoner: accountAttribute(this.account(abandoner)), ...(reason ? { reason } : {}),
    });
  }

  restore(number: number, reason?: string, by?: string): void {
    const change = this.requireChange(number);
    if (change.status !== 'ABANDONED') throw new Error(`Gerrit simulator: change ${number} is ${change.status}, cannot restore`);
    const restorer = by ?? change.owner;
    const now = this.now();
    change.status = 'NEW';
    change.updated = now;
    this.addMessage(change, restorer, `Restored${reason ? `\n\n${reason}` : ''}`, now, 'autogenerated:gerrit:restore');
    this.publishChangeEvent('change-restored', change, currentPatchSet(change), {
      restorer: accountAttribute(this.account(restorer)), ...(reason ? { reason } : {}),
    });
  }

  // ------------------------------------------------------------ events

  private publishPatchSetCreated(change: SimChange, ps: SimPatchSet): void {
    this.publishChangeEvent('patchset-created', change, ps, { uploader: accountAttribute(this.account(ps.uploader)) });
  }

  private publishChangeEvent(type: string, change: SimChange, ps: SimPatchSet, fields: Record<string, unknown>): void {
    const ctx = this.renderContext();
    this.publish(type, {
      ...fields,
      patchSet: patchSetAttribute(change, ps, ctx),
      change: changeAttribute(change, ctx),
      project: change.project,
      refName: `refs/heads/${change.branch}`,
      changeKey: { id: change.changeId },
    });
  }

  publish(type: string, fields: Record<string, unknown> = {}): void {
    this.options.publish({ ...fields, type, eventCreatedOn: epochSeconds(this.now()) });
  }
}
