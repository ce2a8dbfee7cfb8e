import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import {
  CONTAINER_BRIDGE,
  CONTAINER_ROOT,
  NspawnRuntime,
  buildImages,
  containerNames,
  imageSettings,
  isMountPoint,
  listContainerRecords,
  silentLogger,
  type Logger,
} from '@smokestack/core';

/** What tests on real containers need, in the words their skip or failure uses. */
export const CONTAINER_TEST_NEEDS = 'root, systemd-container (systemd-nspawn) and debootstrap';

/**
 * Why container groups cannot run here, or undefined. Not being root is the only reason a test may
 * skip for; a root machine without the runtime fails the test with the one-line install hint.
 */
export async function containerRuntimeMissing(): Promise<string | undefined> {
  return new NspawnRuntime().unavailable();
}

export function canRunContainers(): boolean {
  return process.getuid?.() === 0;
}

/**
 * A before hook's gate for tests on real containers: without root they are skipped, saying so on
 * stderr (they are pending, never passed); as root a missing runtime fails them with its install line.
 */
export async function requireContainers(context: { skip(): never; test?: { type?: string; fullTitle(): string; parent?: { fullTitle(): string } } }): Promise<void> {
  if (!canRunContainers()) {
    const what = context.test?.type === 'test' ? context.test.fullTitle() : (context.test?.parent?.fullTitle() ?? 'container tests');
    process.stderr.write(`skipped: "${what}" needs ${CONTAINER_TEST_NEEDS}\n`);
    context.skip();
  }
  const missing = await containerRuntimeMissing();
  if (missing) throw new Error(`${missing} (scripts/install-system-packages.sh installs what these tests need)`);
}

/**
 * The shared base image every container test, benchmark and the demo use: the built-in "default",
 * keyed by its definition, so it is built once per machine (the first caller waits, with progress).
 */
export async function ensureDefaultImage(logger: Logger = silentLogger()): Promise<void> {
  await buildImages(['default'], imageSettings(undefined), { logger });
}

/** A container group definition: the first host is the gateway. */
export function containerGroupDefinition(name: string, hosts: Array<{ name: string; roles?: string[] }>): Record<string, unknown> {
  return { name, provider: 'container', image: 'default', hosts: hosts.map((h, i) => ({ name: h.name, roles: h.roles ?? [], gateway: i === 0 })) };
}

/** One leftover piece of a container on this machine, in words (empty list: nothing left). */
export type Leftover = string;

/**
 * Everything the given containers may have left on this machine: their records and layers, overlay
 * mounts, network namespaces, veth links, runtime and container processes.
 */
export async function containerLeftovers(ids: readonly string[]): Promise<Leftover[]> {
  const found: Leftover[] = [];
  const netnsList = fs.existsSync('/run/netns') ? fs.readdirSync('/run/netns') : [];
  const processes = (await execa('ps', ['-eo', 'pid=,args='], { reject: false })).stdout.split('\n');
  for (const id of ids) {
    const names = containerNames(id);
    if (fs.existsSync(names.dir)) found.push(`directory ${names.dir}`);
    if (isMountPoint(names.rootfs)) found.push(`mount ${names.rootfs}`);
    if (netnsList.includes(names.netns)) found.push(`network namespace ${names.netns}`);
    if (fs.existsSync(path.join('/sys/class/net', names.veth))) found.push(`link ${names.veth}`);
    for (const line of processes) if (line.includes(`--machine=${id}`)) found.push(`process ${line.trim()}`);
  }
  return found;
}

/** Whether the provider's bridge exists (it must not outlive the last container on the machine). */
export function bridgeExists(): boolean {
  return fs.existsSync(path.join('/sys/class/net', CONTAINER_BRIDGE));
}

/** Containers on this machine that belong to the given store (its location: the state file's path). */
export function containerIdsOfStore(store: string): string[] {
  return listContainerRecords(CONTAINER_ROOT).flatMap((c) => ('store' in c && c.store === store ? [c.id] : []));
}

/** Removes every container of a store (an after hook's last resort, also when a test failed midway). */
export async function removeContainersOfStore(store: string): Promise<void> {
  const runtime = new NspawnRuntime();
  for (const id of containerIdsOfStore(store)) await runtime.remove(id);
  await runtime.removeBridgeIfUnused();
}

