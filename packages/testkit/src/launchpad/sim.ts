import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface SimBugTask {
  /** `nova`, `nova/icehouse`, `nova (Ubuntu)`… */
  target: string;
  importance?: string;
  status?: string;
}

export interface SimBug {
  id: number;
  title?: string;
  tags?: string[];
  tasks: SimBugTask[];
}

export interface SimSpecification {
  project: string;
  name: string;
  /** Not, Undefined, Low, Medium, High, Essential; null to leave the field out. */
  priority?: string | null;
  title?: string;
  definition_status?: string;
  implementation_status?: string;
}

/** `error`: HTTP 503 on every request; `hang`: accept and never answer; `reset`: close the connection; `rate-limit`: HTTP 429 with Retry-After: 1. */
export type LaunchpadFailure = 'none' | 'error' | 'hang' | 'reset' | 'rate-limit';

export interface LaunchpadSimOptions {
  /** Entries per page of a collection (Launchpad's default is 75). */
  pageSize?: number;
  failure?: LaunchpadFailure;
}

/**
 * Launchpad's `devel` web service for the parts SmokeStack reads: `bugs/N`, `bugs/N/bug_tasks`
 * (paged with `next_collection_link`) and `PROJECT/+spec/NAME`, in the documented JSON shapes.
 */
export class LaunchpadSim {
  failure: LaunchpadFailure;
  pageSize: number;
  /** Every request path (with query) in arrival order. */
  readonly requests: string[] = [];
  private readonly transient: LaunchpadFailure[] = [];
  private readonly bugs = new Map<number, SimBug>();
  private readonly specs = new Map<string, SimSpecification>();
  private readonly sockets = new Set<Socket>();
  private server?: http.Server;
  private root = '';

  constructor(options: LaunchpadSimOptions = {}) {
    this.failure = options.failure ?? 'none';
    this.pageSize = options.pageSize ?? 75;
  }

  /** API root, e.g. http://127.0.0.1:PORT/devel (valid after start). */
  get url(): string {
    if (!this.root) throw new Error('LaunchpadSim is not started');
    return this.root;
  }

  /** The next requests fail as given, one each (a passing outage); then `failure` applies again. */
  failNext(...failures: LaunchpadFailure[]): this {
    this.transient.push(...failures);
    return this;
  }

  addBug(bug: SimBug): this {
    this.bugs.set(bug.id, bug);
    return this;
  }

  addSpecification(spec: SimSpecification): this {
    this.specs.set(`${spec.project}/${spec.name}`, spec);
    return this;
  }

  async start(port = 0): Promise<string> {
    const server = http.createServer((req, res) => this.handle(req, res));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.root = `http://127.0.0.1:${(server.address() as AddressInfo).port}/devel`;
    return this.root;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://sim');
    this.requests.push(`${url.pathname}${url.search}`);
    const failure = this.transient.shift() ?? this.failure;
    if (failure === 'hang') return;
    if (failure === 'reset') {
      req.socket.destroy();
      return;
    }
    if (failure === 'error') return this.text(res, 503, 'Service Unavailable');
    if (failure === 'rate-limit') {
      res.writeHead(429, { 'Content-Type': 'text/plain', 'Retry-After': '1' }).end('Too Many Requests');
      return;
    }
    if (req.method !== 'GET') return this.text(res, 405, 'Method Not Allowed');
    const parts = url.pathname.split('/').filter(Boolean).map((p) => decodeURIComponent(p));
    if (parts[0] !== 'devel') return this.text(res, 404, 'Not found');
    const [, a, b, c] = parts;
    if (a === 'bugs' && b && /^\d+$/.test(b)) {
      const bug = this.bugs.get(Number(b));
      if (!bug) return this.text(res, 404, `Object: <lp.bugs.model.bug.BugSet object>, name: '${b}'`);
      if (parts.length === 3) return this.json(res, this.bugJson(bug));
      if (c === 'bug_tasks' && parts.length === 4) return this.json(res, this.tasksPage(bug, url));
    }
    if (a && b === '+spec' && c && parts.length === 4) {
      const spec = this.specs.get(`${a}/${c}`);
      if (!spec) return this.text(res, 404, `Object: <Product '${a}'>, name: '+spec'`);
      return this.json(res, this.specJson(spec));
    }
    return this.text(res, 404, 'Not found');
  }

  private bugJson(bug: SimBug): Record<string, unknown> {
    const self = `${this.root}/bugs/${bug.id}`;
    return {
      self_link: self,
      web_link: `https://bugs.launchpad.net/bugs/${bug.id}`,
      resource_type_link: `${this.root}/#bug`,
      http_etag: `"${bug.id}-sim"`,
      id: bug.id,
      title: bug.title ?? `Bug ${bug.id}`,
      description: '',
      tags: bug.tags ?? [],
      information_type: 'Public',
      private: false,
      bug_tasks_collection_link: `${self}/bug_tasks`,
      date_created: '2013-01-01T00:00:00+00:00',
    };
  }

  private tasksPage(bug: SimBug, url: URL): Record<string, unknown> {
    const start = Math.max(0, Number(url.searchParams.get('ws.start') ?? 0) || 0);
    const size = Math.max(1, Number(url.searchParams.get('ws.size') ?? this.pageSize) || this.pageSize);
    const base = `${this.root}/bugs/${bug.id}/bug_tasks`;
    const entries = bug.tasks.slice(start, start + size).map((task) => ({
      self_link: `${this.root}/${task.target}/+bug/${bug.id}`,
      web_link: `https://bugs.launchpad.net/${task.target}/+bug/${bug.id}`,
      resource_type_link: `${this.root}/#bug_task`,
      bug_link: `${this.root}/bugs/${bug.id}`,
      target_link: `${this.root}/${task.target}`,
      bug_target_name: task.target,
      bug_target_display_name: task.target,
      importance: task.importance ?? 'Undecided',
      status: task.status ?? 'New',
      title: `Bug #${bug.id} in ${task.target}: "${bug.title ?? `Bug ${bug.id}`}"`,
      is_complete: false,
    }));
    const page: Record<string, unknown> = { total_size: bug.tasks.length, start, entries };
    if (start + size < bug.tasks.length) page.next_collection_link = `${base}?ws.size=${size}&memo=${start + size}&ws.start=${start + size}`;
    if (start > 0) page.prev_collection_link = `${base}?ws.size=${size}&memo=${Math.max(0, start - size)}&ws.start=${Math.max(0, start - size)}`;
    return page;
  }

  private specJson(spec: SimSpecification): Record<string, unknown> {
    const out: Record<string, unknown> = {
      self_link: `${this.root}/${spec.project}/+spec/${spec.name}`,
      web_link: `https://blueprints.launchpad.net/${spec.project}/+spec/${spec.name}`,
      resource_type_link: `${this.root}/#specification`,
      name: spec.name,
      title: spec.title ?? spec.name,
      summary: '',
      target_link: `${this.root}/${spec.project}`,
      definition_status: spec.definition_status ?? 'Approved',
      implementation_status: spec.implementation_status ?? 'Unknown',
      lifecycle_status: 'Not started',
      is_complete: false,
      is_started: false,
      date_created: '2013-01-01T00:00:00+00:00',
    };
    if (spec.priority !== null) out.priority = spec.priority ?? 'Undefined';
    return out;
  }

  private json(res: http.ServerResponse, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private text(res: http.ServerResponse, status: number, body: string): void {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }
}
