import path from 'node:path';
import { UserError } from '../errors.js';
import { combinations, type Configuration } from '../config/axes.js';
import { resolveTemplate, type LoadedConfig } from '../config/load.js';
import { faultPolicies, type GerritConfig } from '../config/schema.js';
import type { FaultSettings } from './fault.js';
import { DEFAULT_POOL } from '../model.js';
import type { WebSettings } from '../web/layout.js';

/** One configured project branch and the templates its changes run. */
export interface ProjectTarget {
  name: string;
  branch: string;
  templates: string[];
  /** Git URL to fetch the project's patch sets from. */
  url: string;
  /** Whether a change is merged onto the tip of its branch before building (default true). */
  mergeTrunk?: boolean;
  /** Other projects' branches every test config of this project starts with (URLs resolved). */
  sources?: Record<string, { url: string; ref: string; mergeTrunk: boolean }>;
}

/** What bellows needs to know about a template to queue and report its jobs. */
export interface TemplatePolicy {
  /** false: a failure waits for `bellows jobs approve` before it votes -1. */
  autoApprove: boolean;
  /** infra_failed jobs are re-queued until this many retries were made. */
  maxInfraRetries: number;
  /** The pool of workers that runs it (absent: the default pool). */
  pool?: string;
  /** The combinations of the template's axes, one job each (absent: one job without axes). */
  configurations?: Configuration[];
}

export const DEFAULT_TEMPLATE_POLICY: TemplatePolicy = { autoApprove: true, maxInfraRetries: 2 };

/** The combinations a template runs: those of its axes, or one without axes. */
export function configurationsOf(policy: TemplatePolicy): Configuration[] {
  return policy.configurations?.length ? policy.configurations : [{}];
}

/** The parts of smokestack.yaml that bellows acts on, resolved once. */
export interface BellowsSettings {
  projects: ProjectTarget[];
  /** Where any project's changes are fetched from (Depends-On may name a project that is not configured). */
  gerrit?: Pick<GerritConfig, 'url' | 'gitUrl'>;
  templates: Record<string, TemplatePolicy>;
  label: string;
  tag: string;
  recheck: string;
  /** The bot's own Gerrit account; its comments never trigger anything. */
  botUsername?: string;
  overlapSeconds: number;
  settleSeconds: number;
  /** Base URL where job logs are published (`<logsUrl>/<job id>/`); local paths otherwise. */
  logsUrl?: string;
  /** Directory of job logs beside the store, for messages when there is no logsUrl. */
  jobsDir?: string;
  /** Quarantine, flaky and baseline rules: whose fault a failure is. */
  fault: FaultSettings;
  /** The job pages (web.dir, web.url): reviews link to them. */
  web?: WebSettings;
  /** Report to Gerrit's checks plugin too (gerrit.checks). */
  checks?: { scheme: string; blocking: boolean };
}

/** Where a project's patch sets are fetched from: its own url, else gerrit.gitUrl, else the Gerrit URL. */
export function projectGitUrl(gerrit: Pick<GerritConfig, 'url' | 'gitUrl'>, project: string, url?: string): string {
  if (url) return url;
  const base = (gerrit.gitUrl ?? gerrit.url).replace(/\/+$/, '');
  return base.includes('{project}') ? base.replace('{project}', project) : `${base}/${project}`;
}

export function requireGerrit(loaded: LoadedConfig): GerritConfig {
  const gerrit = loaded.config.gerrit;
  if (!gerrit) {
    const where = loaded.path ? path.basename(loaded.path) : 'smokestack.yaml';
    throw new UserError(`${where}: gerrit: not configured`, { hint: 'add a gerrit: section with at least url (see docs/configuration.md)' });
  }
  return gerrit;
}

export function bellowsSettings(loaded: LoadedConfig, jobsDir?: string, web?: WebSettings): BellowsSettings {
  const gerrit = requireGerrit(loaded);
  const templates: Record<string, TemplatePolicy> = {};
  for (const project of loaded.config.projects) {
    for (const name of project.templates) {
      if (templates[name]) continue;
      const t = resolveTemplate(loaded, name);
      templates[name] = { autoApprove: t.autoApprove, maxInfraRetries: t.maxInfraRetries, configurations: combinations(t.axes, t.exclude), ...(t.pool !== DEFAULT_POOL ? { pool: t.pool } : {}) };
    }
  }
  return {
    projects: loaded.config.projects.map((p) => ({
      name: p.name,
      branch: p.branch,
      templates: [...p.templates],
      url: projectGitUrl(gerrit, p.name, p.url),
      mergeTrunk: p.mergeTrunk,
      sources: Object.fromEntries(Object.entries(p.sources).map(([name, s]) => [name, { url: projectGitUrl(gerrit, name, s.url), ref: s.ref, mergeTrunk: s.mergeTrunk }])),
    })),
    gerrit: { url: gerrit.url, ...(gerrit.gitUrl ? { gitUrl: gerrit.gitUrl } : {}) },
    templates,
    label: gerrit.label,
    tag: gerrit.tag,
    recheck: gerrit.recheck,
    botUsername: gerrit.username ?? gerrit.ssh?.username,
    overlapSeconds: gerrit.overlapSeconds,
    settleSeconds: gerrit.settleSeconds,
    logsUrl: loaded.config.logsUrl ?? loaded.config.report?.logsUrl,
    jobsDir,
    fault: { quarantine: loaded.config.quarantine ?? [], ...faultPolicies(loaded.config) },
    ...(web ? { web } : {}),
    ...(gerrit.checks ? { checks: { scheme: gerrit.checks.scheme, blocking: gerrit.checks.blocking } } : {}),
  };
}

/** The targets named on the command line (all when none); an unknown project is a user error. */
export function selectTargets(settings: Pick<BellowsSettings, 'projects'>, names: string[] = []): ProjectTarget[] {
  if (settings.projects.length === 0) {
    throw new UserError('smokestack.yaml: projects: no projects configured', { hint: 'add projects: [{name, branch, templates}]' });
  }
  if (names.length === 0) return settings.projects;
  for (const name of names) {
    if (!settings.projects.some((p) => p.name === name)) {
      throw new UserError(`project "${name}" is not configured`, { hint: `configured: ${settings.projects.map((p) => p.name).join(', ')}` });
    }
  }
  return settings.projects.filter((p) => names.includes(p.name));
}

export function targetKey(target: { name: string; branch: string } | { project: string; branch: string }): string {
  return 'name' in target ? `${target.name}|${target.branch}` : `${target.project}|${target.branch}`;
}

export function findTarget(targets: ProjectTarget[], project: string, branch: string): ProjectTarget | undefined {
  return targets.find((t) => t.name === project && t.branch === branch);
}
