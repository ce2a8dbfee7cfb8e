import type { ServerGroup } from '../model.js';

export const HOSTS_BLOCK_BEGIN = '# BEGIN smokestack group';
export const HOSTS_BLOCK_END = '# END smokestack group';

/** `address name` lines for every host of the group, gateway first. */
export function hostsEntries(group: Pick<ServerGroup, 'hosts'>): Array<{ address: string; names: string[] }> {
  const ordered = [...group.hosts].sort((a, b) => Number(b.gateway) - Number(a.gateway));
  return ordered.map((h) => ({ address: h.address, names: [h.name] }));
}

/** A hosts(5) file listing every host of the group by name; the gateway is marked in a comment. */
export function renderHostsFile(group: Pick<ServerGroup, 'name' | 'hosts'>): string {
  const gateway = group.hosts.find((h) => h.gateway)?.name ?? '';
  const lines = [`# server group ${group.name}; gateway: ${gateway}`];
  for (const entry of hostsEntries(group)) lines.push(`${entry.address}\t${entry.names.join(' ')}`);
  return `${lines.join('\n')}\n`;
}
