import { UserError } from '../errors.js';
import type { JobPlan } from './plan.js';

/** Template references to hosts and roles must exist in the group (checked before anything is created). */
export function validateAgainstGroup(plan: JobPlan, hosts: ReadonlyArray<{ name: string; roles: string[] }>): void {
  const names = new Set(hosts.map((h) => h.name));
  const roles = new Set(hosts.flatMap((h) => h.roles));
  const where = `templates.${plan.template}`;
  const check = (kind: string, i: number, sel: { host?: string; role?: string }) => {
    if (sel.host && !names.has(sel.host)) {
      throw new UserError(`${where}.${kind}[${i}].host: the server group has no host "${sel.host}"`, { hint: `hosts: ${[...names].join(', ')}` });
    }
    if (sel.role && !roles.has(sel.role)) {
      throw new UserError(`${where}.${kind}[${i}].role: no host of the server group has role "${sel.role}"`, { hint: roles.size ? `roles: ${[...roles].join(', ')}` : 'no host has a role' });
    }
  };
  plan.definition.builds.forEach((b, i) => check('builds', i, { host: b.host }));
  plan.definition.suites.forEach((s, i) => check('suites', i, s));
  plan.definition.logs.forEach((l, i) => check('logs', i, l));
}
