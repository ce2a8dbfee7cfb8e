import { UserError } from '../errors.js';
import { LocalProvider } from './local.js';
import { SshProvider } from './ssh.js';
import { OpenStackProvider } from './openstack.js';
import { ContainerProvider } from './container.js';
import type { ServerGroupProvider } from './types.js';

export type ProviderFactory = () => ServerGroupProvider;
export type ProviderMap = Readonly<Record<string, ProviderFactory>>;

/** Every provider this build knows, by the name group definitions use. */
export const PROVIDERS: ProviderMap = {
  local: () => new LocalProvider(),
  ssh: () => new SshProvider(),
  openstack: () => new OpenStackProvider(),
  container: () => new ContainerProvider(),
};

/** The provider named by a group definition or a stored group. */
export function providerFor(name: string, providers: ProviderMap = PROVIDERS): ServerGroupProvider {
  const factory = providers[name];
  if (!factory) {
    throw new UserError(`unknown server group provider "${name}"`, { hint: `known providers: ${Object.keys(providers).join(', ')}` });
  }
  return factory();
}

export function providerNames(providers: ProviderMap = PROVIDERS): string[] {
  return Object.keys(providers);
}
