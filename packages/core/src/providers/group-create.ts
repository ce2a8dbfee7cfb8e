import fs from 'node:fs';
import path from 'node:path';
import { InfraError, UserError, errorMessage, isUserError } from '../errors.js';
import type { GroupDefinition } from '../config/schema.js';
import { loadGroupFile } from '../config/load.js';
import type { Host, ServerGroup } from '../model.js';
import { TemplateRenderer } from '../render/render.js';
import { lastOutputLine } from '../ssh/output.js';
import { withPool } from './group-exec.js';
import { providerOfGroup, removeGroupFiles } from './group-records.js';
import { HOSTS_BLOCK_BEGIN, HOSTS_BLOCK_END, renderHostsFile } from './hosts-file.js';
import { assertGroupName, normalizeGroupDefinition } from './normalize.js';
import { groupDir, updateStoredGroup } from './record.js';
import type { ProviderContext, ServerGroupProvider } from './types.js';

/** A group name unique to one job run of a template, e.g. `devstack-42`. */
export function groupNameForJob(template: string, jobId: string): string {
  const base = `${template}-${jobId}`.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  return assertGroupName(base || `group-${jobId}`, 'job group name');
}

export interface CreateGroupOptions {
  /** Overrides the definition's name (`--name`, or a per-job name from groupNameForJob). */
  name?: string;
  jobId?: string;
  /** Names the definition's source in error messages (a file name or `templates.x.group`). */
  where?: string;
}

/**
 * Creates a server group: records it as `creating` before any resource exists, lets the provider
 * create (recording each resource as it appears), waits until every host is reachable, then writes
 * the hosts file and working directories. On any failure everything created is deleted and the
 * group is left marked `deleted` (or `failed`, when cleanup failed too) with the error.
 */
export async function createGroup(definition: GroupDefinition, options: CreateGroupOptions, ctx: ProviderContext): Promise<ServerGroup> {
  const where = options.where ?? 'group definition';
  const name = options.name ?? definition.name;
  if (!name) throw new UserError(`${where}: name: the group has no name`, { hint: 'add name: to the definition or pass --name' });
  assertGroupName(name, options.name ? '--name' : `${where}: name`);
  const provider = providerOfGroup(definition.provider, ctx);

  await ctx.store.update((state) => {
    const existing = state.groups[name];
    if (existing && existing.state !== 'deleted') {
      throw new UserError(`server group "${name}" already exists (${existing.state}, provider ${existing.provider})`, {
        hint: `delete it with: firestack group delete ${name}, or choose another --name`,
      });
    }
    state.groups[name] = {
      name,
      provider: provider.name,
      hosts: [],
      createdAt: ctx.now().toISOString(),
      state: 'creating',
      ...(options.jobId ? { jobId: options.jobId } : {}),
      resources: [],
      definition: { ...definition, name },
    };
  });
  fs.rmSync(groupDir(ctx.store, name), { recursive: true, force: true });

  const count = normalizeGroupDefinition(definition, where).length;
  if (provider.prepare) {
    try {
      await provider.prepare(definition, ctx);
    } catch (err) {
      throw await abandonCreate(provider, name, err, ctx);
    }
  }
  return withPool(ctx, async (run) => {
    try {
      const progress: { group?: ServerGroup } = {};
      await ctx.logger.steps(
        [
          { title: `create ${count} host(s) of group ${name} (${provider.name})`, run: async (c) => void (c.group = await provider.create(name, definition, run)) },
          { title: 'wait until every host is reachable', run: (c) => provider.waitReachable(c.group!, run) },
          {
            title: 'write the hosts file and working directories',
            run: async (c) => void (c.group = provider.setup ? await provider.setup(c.group!, run) : await setupOverConnections(provider, c.group!, run)),
          },
        ],
        progress,
      );
      return await updateStoredGroup(ctx.store, name, (group) => {
        group.hosts = progress.group!.hosts;
        group.state = 'ready';
        delete group.error;
      });
    } catch (err) {
      throw await abandonCreate(provider, name, err, run);
    }
  });
}

/** Loads a group definition file and creates the group. */
export async function createGroupFromFile(file: string, options: Omit<CreateGroupOptions, 'where'>, ctx: ProviderContext): Promise<ServerGroup> {
  return createGroup(loadGroupFile(file), { ...options, where: path.basename(file) }, ctx);
}

async function abandonCreate(provider: ServerGroupProvider, name: string, err: unknown, ctx: ProviderContext): Promise<Error> {
  const message = errorMessage(err);
  const stored = (await ctx.store.read()).groups[name];
  let cleanup = '';
  if (stored) {
    try {
      await provider.delete(stored, ctx);
      removeGroupFiles(ctx, name);
    } catch (cleanupErr) {
      cleanup = `; cleanup failed too, run firestack group delete ${name}: ${errorMessage(cleanupErr)}`;
    }
    await updateStoredGroup(ctx.store, name, (group) => {
      group.state = cleanup ? 'failed' : 'deleted';
      group.error = `${message}${cleanup}`;
    });
  }
  const text = `creating server group ${name} failed: ${message}${cleanup || '; everything created was deleted'}`;
  return isUserError(err) ? new UserError(text, { cause: err }) : new InfraError(text, { cause: err });
}

/**
 * The setup every SSH-reached host gets: a working directory (configured, or
 * ~/.smokestack/<group>/<host>) and the group's hosts file, as a managed /etc/hosts block where
 * writable, else `$workdir/hosts`.
 */
export async function setupOverConnections(
  provider: ServerGroupProvider,
  group: ServerGroup,
  ctx: ProviderContext,
  renderer: TemplateRenderer = new TemplateRenderer(),
): Promise<ServerGroup> {
  const hostsLines = renderHostsFile(group).trimEnd().split('\n');
  const hosts = await Promise.all(
    group.hosts.map(async (host): Promise<Host> => {
      const script = renderer.render('group-setup.sh.hbs', {
        workDir: host.workDir && !host.workDir.startsWith('~/') && path.posix.isAbsolute(host.workDir) ? host.workDir : '',
        homeWorkDir: host.workDir ? host.workDir.replace(/^~\//, '') : `.smokestack/${group.name}/${host.name}`,
        hostsLines,
        manageEtcHosts: true,
        beginMarker: `${HOSTS_BLOCK_BEGIN} ${group.name}`,
        endMarker: `${HOSTS_BLOCK_END} ${group.name}`,
      });
      const conn = await provider.connect(group, { ...host, workDir: undefined }, ctx);
      try {
        const result = await conn.exec(script, { timeoutMs: 120_000 });
        if (result.code !== 0) {
          throw new InfraError(`host ${host.name}: setup script exited ${result.code}: ${lastOutputLine(result.stderr)}`);
        }
        const out = Object.fromEntries(
          result.stdout
            .split('\n')
            .map((l) => l.match(/^(workdir|hostsfile)=(.*)$/))
            .filter((m): m is RegExpMatchArray => m !== null)
            .map((m) => [m[1]!, m[2]!]),
        );
        return { ...host, workDir: out.workdir ?? host.workDir, hostsFile: out.hostsfile };
      } finally {
        await conn.close();
      }
    }),
  );
  return { ...group, hosts };
}

