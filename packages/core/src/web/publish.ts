import path from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import { resolveTemplate } from '../config/load.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { Job, JobStageRecord } from '../model.js';
import { planJob } from '../pipeline/plan.js';
import { findJob } from '../queue/queue.js';
import type { TemplateRenderer } from '../render/render.js';
import type { Store } from '../store/types.js';
import { writeFilesAtomically } from './atomic.js';
import { writeJobPage, type WrittenJobPage } from './job-pages.js';
import { pageFile, pagePaths, webSettings, type WebSettings } from './layout.js';
import { jobsOfPatchSet, resultsDocument } from './results.js';

/**
 * What a job's progress publishes: its page, and the results documents of its revision and of its
 * patch set. Written when a worker takes the job, as each stage ends and when it finishes.
 */
export interface Publisher {
  web: WebSettings;
  publish(job: Job, options?: { stagesSoFar?: JobStageRecord[] }): Promise<WrittenJobPage | undefined>;
}

export interface PublisherOptions {
  store: Store;
  loaded: LoadedConfig;
  logger?: Logger;
  now?: () => Date;
  renderer?: TemplateRenderer;
}

/** The publisher of the config's pages; a page that cannot be written costs a warning, never the job. */
export function jobPublisher(options: PublisherOptions): Publisher {
  const web = webSettings(options.loaded, options.store);
  const now = options.now ?? (() => new Date());
  const templateSources = (template: string) => planJob(template, resolveTemplate(options.loaded, template), { baseDir: options.loaded.dir }).sources;
  return {
    web,
    async publish(job, extra = {}) {
      try {
        const page = await writeJobPage(job, {
          store: options.store,
          web,
          now,
          templateSources,
          ...(options.renderer ? { renderer: options.renderer } : {}),
          ...(options.loaded.config.gerrit?.url ? { gerritUrl: options.loaded.config.gerrit.url } : {}),
          ...(extra.stagesSoFar ? { stagesSoFar: extra.stagesSoFar } : {}),
        });
        await writeResultsOf(options.store, web, job, now());
        return page;
      } catch (err) {
        options.logger?.warn(`job ${job.id}: could not write its page: ${errorMessage(err)}`);
        return undefined;
      }
    },
  };
}

/**
 * Rewrites `revisions/<sha>.json` and `changes/<n>/<ps>.json` for a job's patch set. Every job of an
 * open change's current patch set is in the live state; an older patch set's are looked up in history too.
 */
export async function writeResultsOf(store: Store, web: WebSettings, job: Job, now: Date): Promise<void> {
  if (!job.number) return;
  const state = await store.read();
  const current = state.configs[job.configId]?.patchSet === job.patchSet;
  const jobs = current ? Object.values(state.jobs).filter((j) => j.number === job.number && j.patchSet === job.patchSet) : await jobsOfPatchSet(store, job.number, job.patchSet);
  const files: Record<string, string> = {};
  const doc = (key: Parameters<typeof resultsDocument>[0], of: Job[]) => `${JSON.stringify(resultsDocument(key, of, web, now), null, 2)}\n`;
  files[pagePaths.change(job.number, job.patchSet)] = doc({ number: job.number, patchSet: job.patchSet }, jobs);
  if (job.revision) files[pagePaths.revision(job.revision)] = doc({ revision: job.revision }, jobs.filter((j) => j.revision === job.revision));
  for (const [rel, text] of Object.entries(files)) await writeFilesAtomically(path.dirname(pageFile(web, rel)), { [path.basename(rel)]: text });
}

export interface RepublishResult {
  dir: string;
  pages: Array<{ job: string; page: string }>;
  failed: string[];
}

/**
 * `bellows pages`: rewrites the pages of the named jobs (live or from history), or of every started
 * job the live state holds, with their results documents: after an upgrade, or for jobs whose logs
 * came home from another machine.
 */
export async function republishJobs(options: PublisherOptions & { ids?: string[] }): Promise<RepublishResult> {
  const publisher = jobPublisher(options);
  const jobs: Job[] = [];
  if (options.ids?.length) {
    for (const id of options.ids) jobs.push(await findJob(options.store, id));
  } else {
    jobs.push(...Object.values((await options.store.read()).jobs).filter((j) => j.status !== 'queued'));
  }
  const result: RepublishResult = { dir: publisher.web.dir, pages: [], failed: [] };
  for (const job of jobs) {
    const written = await publisher.publish(job);
    if (written) result.pages.push({ job: job.id, page: written.url ?? written.file });
    else result.failed.push(job.id);
  }
  return result;
}
