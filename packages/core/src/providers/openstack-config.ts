import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';
import { lazyRequire } from '../lazy.js';
import { homeDir, xdgConfigHome, type Env } from '../paths.js';

// Only OpenStack groups need the YAML library; every command that lists or shows groups loads this module.
const yaml = lazyRequire<typeof import('yaml')>('yaml');

export type OpenStackAuthType = 'password' | 'v3applicationcredential';
export type EndpointInterface = 'public' | 'internal' | 'admin';

/** Credentials and endpoint choice for one cloud. Never logged, never stored. */
export interface CloudConfig {
  /** The clouds.yaml entry name, or "envvars" for OS_* variables. */
  name: string;
  /** Where it came from: the clouds.yaml path, or "environment". */
  source: string;
  authType: OpenStackAuthType;
  auth: {
    authUrl: string;
    username?: string;
    userId?: string;
    password?: string;
    projectName?: string;
    projectId?: string;
    userDomainName?: string;
    userDomainId?: string;
    projectDomainName?: string;
    projectDomainId?: string;
    applicationCredentialId?: string;
    applicationCredentialName?: string;
    applicationCredentialSecret?: string;
  };
  regionName?: string;
  interface: EndpointInterface;
  /** Verify TLS certificates (clouds.yaml `verify`, default true). */
  verify: boolean;
  cacert?: string;
}

export interface CloudSelection {
  /** Cloud name from the group definition; OS_CLOUD otherwise. */
  cloud?: string;
  env: Env;
  cwd?: string;
}

const CLOUDS_FILES = ['clouds.yaml', 'clouds.yml', 'clouds.json'];
const SECURE_FILES = ['secure.yaml', 'secure.yml', 'secure.json'];

/** Directories searched for clouds.yaml, first match wins: `.`, ~/.config/openstack, /etc/openstack. */
export function cloudsSearchPath(env: Env, cwd = process.cwd()): string[] {
  return [cwd, path.join(xdgConfigHome(env), 'openstack'), path.join(homeDir(env), '.config', 'openstack'), '/etc/openstack'].filter(
    (dir, i, all) => all.indexOf(dir) === i,
  );
}

/** The clouds.yaml in use: OS_CLIENT_CONFIG_FILE, then the search path. */
export function findCloudsFile(env: Env, cwd = process.cwd()): string | undefined {
  if (env.OS_CLIENT_CONFIG_FILE) {
    const file = path.resolve(cwd, env.OS_CLIENT_CONFIG_FILE);
    if (!fs.existsSync(file)) throw new UserError(`OS_CLIENT_CONFIG_FILE: ${file} does not exist`);
    return file;
  }
  for (const dir of cloudsSearchPath(env, cwd)) {
    for (const name of CLOUDS_FILES) {
      const file = path.join(dir, name);
      if (fs.existsSync(file)) return file;
    }
  }
  return undefined;
}

function findSecureFile(cloudsFile: string | undefined, env: Env, cwd: string): string | undefined {
  if (env.OS_CLIENT_SECURE_FILE) return path.resolve(cwd, env.OS_CLIENT_SECURE_FILE);
  const dirs = cloudsFile ? [path.dirname(cloudsFile)] : cloudsSearchPath(env, cwd);
  for (const dir of dirs) {
    for (const name of SECURE_FILES) {
      const file = path.join(dir, name);
      if (fs.existsSync(file)) return file;
    }
  }
  return undefined;
}

function readYaml(file: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = yaml().parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UserError(`${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new UserError(`${file}: expected a mapping with a "clouds" key`);
  return doc as Record<string, unknown>;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** secure.yaml values win over clouds.yaml values, key by key. */
export function mergeDeep(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    out[key] = isObject(value) && isObject(out[key]) ? mergeDeep(out[key] as Record<string, unknown>, value) : value;
  }
  return out;
}

/**
 * Resolves the cloud to talk to: a named cloud (definition `cloud`, else OS_CLOUD) from
 * clouds.yaml merged with secure.yaml, or the OS_* variables when no cloud is named.
 */
export function loadCloudConfig(selection: CloudSelection): CloudConfig {
  const env = selection.env;
  const cwd = selection.cwd ?? process.cwd();
  const name = selection.cloud ?? env.OS_CLOUD;
  if (!name) {
    if (env.OS_AUTH_URL) return cloudFromEnv(env);
    throw new UserError('no OpenStack cloud selected', {
      hint: 'set OS_CLOUD (or cloud: in the group definition) to a clouds.yaml entry, or set OS_AUTH_URL and the other OS_* variables',
    });
  }
  const cloudsFile = findCloudsFile(env, cwd);
  if (!cloudsFile) {
    throw new UserError(`OpenStack cloud "${name}": no clouds.yaml found`, {
      hint: `looked in OS_CLIENT_CONFIG_FILE and ${cloudsSearchPath(env, cwd).join(', ')}`,
    });
  }
  const clouds = readYaml(cloudsFile).clouds;
  let entry = isObject(clouds) ? clouds[name] : undefined;
  const secureFile = findSecureFile(cloudsFile, env, cwd);
  let secureEntry: unknown;
  if (secureFile && fs.existsSync(secureFile)) {
    const secureClouds = readYaml(secureFile).clouds;
    secureEntry = isObject(secureClouds) ? secureClouds[name] : undefined;
  }
  if (!isObject(entry)) {
    if (!isObject(secureEntry)) {
      const known = isObject(clouds) ? Object.keys(clouds).join(', ') : '';
      throw new UserError(`${cloudsFile}: clouds.${name}: no such cloud`, { hint: known ? `known clouds: ${known}` : 'the file lists no clouds' });
    }
    entry = {};
  }
  const merged = isObject(secureEntry) ? mergeDeep(entry as Record<string, unknown>, secureEntry) : (entry as Record<string, unknown>);
  return cloudFromEntry(name, merged, cloudsFile);
}

function str(value: unknown): string | undefined {
  if (typeof value === 'string' && value.length > 0) return value;
  if (typeof value === 'number') return String(value);
  return undefined;
}

function authTypeOf(value: string | undefined, where: string): OpenStackAuthType {
  switch (value ?? 'password') {
    case 'password':
    case 'v3password':
      return 'password';
    case 'v3applicationcredential':
    case 'application_credential':
      return 'v3applicationcredential';
    default:
      throw new UserError(`${where}: auth_type "${value}" is not supported`, { hint: 'use password or v3applicationcredential' });
  }
}

function interfaceOf(value: string | undefined, where: string): EndpointInterface {
  const normalized = (value ?? 'public').replace(/URL$/, '');
  if (normalized === 'public' || normalized === 'internal' || normalized === 'admin') return normalized;
  throw new UserError(`${where}: interface "${value}" is not one of public, internal, admin`);
}

/** One clouds.yaml entry (already merged with secure.yaml) as a CloudConfig. */
export function cloudFromEntry(name: string, entry: Record<string, unknown>, source: string): CloudConfig {
  const where = `${source}: clouds.${name}`;
  const auth = isObject(entry.auth) ? entry.auth : {};
  const authType = authTypeOf(str(entry.auth_type), where);
  const regions = Array.isArray(entry.regions) ? entry.regions.map((r) => (isObject(r) ? str(r.name) : str(r))) : [];
  const verify = entry.verify === undefined ? true : entry.verify !== false && entry.verify !== 'false';
  const config: CloudConfig = {
    name,
    source,
    authType,
    auth: {
      authUrl: str(auth.auth_url) ?? '',
      username: str(auth.username),
      userId: str(auth.user_id),
      password: str(auth.password),
      projectName: str(auth.project_name) ?? str(auth.tenant_name),
      projectId: str(auth.project_id) ?? str(auth.tenant_id),
      userDomainName: str(auth.user_domain_name) ?? str(auth.domain_name),
      userDomainId: str(auth.user_domain_id) ?? str(auth.domain_id),
      projectDomainName: str(auth.project_domain_name) ?? str(auth.domain_name),
      projectDomainId: str(auth.project_domain_id) ?? str(auth.domain_id),
      applicationCredentialId: str(auth.application_credential_id),
      applicationCredentialName: str(auth.application_credential_name),
      applicationCredentialSecret: str(auth.application_credential_secret),
    },
    regionName: str(entry.region_name) ?? regions[0],
    interface: interfaceOf(str(entry.interface) ?? str(entry.endpoint_type), where),
    verify,
    cacert: str(entry.cacert),
  };
  validateCloud(config, where, 'auth.');
  return config;
}

/** OS_* variables as a CloudConfig (the "envvars" cloud). */
export function cloudFromEnv(env: Env): CloudConfig {
  const authType = authTypeOf(env.OS_AUTH_TYPE ?? (env.OS_APPLICATION_CREDENTIAL_ID || env.OS_APPLICATION_CREDENTIAL_NAME ? 'v3applicationcredential' : undefined), 'OS_AUTH_TYPE');
  const config: CloudConfig = {
    name: 'envvars',
    source: 'environment',
    authType,
    auth: {
      authUrl: env.OS_AUTH_URL ?? '',
      username: env.OS_USERNAME || undefined,
      userId: env.OS_USER_ID || undefined,
      password: env.OS_PASSWORD || undefined,
      projectName: env.OS_PROJECT_NAME || env.OS_TENANT_NAME || undefined,
      projectId: env.OS_PROJECT_ID || env.OS_TENANT_ID || undefined,
      userDomainName: env.OS_USER_DOMAIN_NAME || undefined,
      userDomainId: env.OS_USER_DOMAIN_ID || undefined,
      projectDomainName: env.OS_PROJECT_DOMAIN_NAME || undefined,
      projectDomainId: env.OS_PROJECT_DOMAIN_ID || undefined,
      applicationCredentialId: env.OS_APPLICATION_CREDENTIAL_ID || undefined,
      applicationCredentialName: env.OS_APPLICATION_CREDENTIAL_NAME || undefined,
      applicationCredentialSecret: env.OS_APPLICATION_CREDENTIAL_SECRET || undefined,
    },
    regionName: env.OS_REGION_NAME || undefined,
    interface: interfaceOf(env.OS_INTERFACE || env.OS_ENDPOINT_TYPE || undefined, 'OS_INTERFACE'),
    verify: env.OS_INSECURE !== 'true' && env.OS_INSECURE !== '1',
    cacert: env.OS_CACERT || undefined,
  };
  validateCloud(config, 'OS_* environment', 'OS_');
  return config;
}

function validateCloud(config: CloudConfig, where: string, prefix: string): void {
  const key = (name: string) => (prefix === 'OS_' ? `OS_${name.toUpperCase()}` : `${prefix}${name}`);
  const missing = (name: string) => new UserError(`${where}: ${key(name)} is missing`);
  if (!config.auth.authUrl) throw missing('auth_url');
  try {
    new URL(config.auth.authUrl);
  } catch {
    throw new UserError(`${where}: ${key('auth_url')} is not a URL`);
  }
  if (config.authType === 'v3applicationcredential') {
    if (!config.auth.applicationCredentialSecret) throw missing('application_credential_secret');
    if (!config.auth.applicationCredentialId && !config.auth.applicationCredentialName) throw missing('application_credential_id');
    if (!config.auth.applicationCredentialId && !config.auth.username && !config.auth.userId) throw missing('username');
    return;
  }
  if (!config.auth.username && !config.auth.userId) throw missing('username');
  if (!config.auth.password) throw missing('password');
  if (!config.auth.projectName && !config.auth.projectId) throw missing('project_name');
}

/** The values of a cloud that must never be printed. */
export function cloudSecrets(config: CloudConfig): string[] {
  return [config.auth.password, config.auth.applicationCredentialSecret].filter((s): s is string => Boolean(s));
}
