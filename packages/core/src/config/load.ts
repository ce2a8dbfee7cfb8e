import fs from 'node:fs';
import path from 'node:path';
import * as YAML from '../vendor/yaml.js';
import { UserError, errorMessage } from '../errors.js';
import { defaultConfig, findConfigPath, type ConfigSearch } from './find.js';
import {
  ConfigSchema,
  GroupDefinitionSchema,
  TemplateSchema,
  type GroupDefinition,
  type SmokestackConfig,
  type TemplateDefinition,
} from './schema.js';
import { parseOrThrow } from './validate.js';
import { sha256Text } from './cache.js';

export interface LoadedConfig {
  /** The file the config came from, or undefined for the embedded empty default. */
  path?: string;
  dir: string;
  config: SmokestackConfig;
  /** The SHA-256 of the file's text the config was validated from (what the config cache keys on). */
  sha256?: string;
}

/** Config, template and group files above this size are refused before they are parsed (real ones are a few KiB). */
export const MAX_CONFIG_BYTES = 512 * 1024;

/** Reads at most `limit` + 1 bytes, so a huge file (or an endless pipe) is never read whole. */
function readLimited(file: string, label: string, limit: number): string {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    throw new UserError(`${label}: cannot read file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  try {
    const buffer = Buffer.alloc(limit + 1);
    let length = 0;
    for (let n = -1; n !== 0 && length <= limit; length += n) n = fs.readSync(fd, buffer, length, buffer.length - length, null);
    if (length > limit) {
      const size = fs.fstatSync(fd).size;
      const shown = size > limit ? `${(size / 1024 / 1024).toFixed(1)} MiB` : `over ${limit / 1024} KiB`;
      throw new UserError(`${label}: too large (${shown}; a config file may be at most ${limit / 1024} KiB)`);
    }
    return buffer.subarray(0, length).toString('utf8');
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`${label}: cannot read file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads a YAML or JSON file into plain data; errors name the file and line. */
export function readDataFile(file: string, label = file): unknown {
  return parseDataText(file, readLimited(file, label, MAX_CONFIG_BYTES), label);
}

function parseDataText(file: string, text: string, label: string): unknown {
  if (file.endsWith('.json')) {
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new UserError(`${label}: invalid JSON: ${(err as Error).message}`);
    }
  }
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    const where = first.linePos?.[0] ? `:${first.linePos[0].line}:${first.linePos[0].col}` : '';
    const what = first.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw new UserError(`${label}${where}: invalid YAML: ${what}`);
  }
  try {
    return doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (err) {
    // yaml refuses documents whose aliases would expand without bound ("billion laughs").
    if (err instanceof ReferenceError && /alias/i.test(err.message)) {
      throw new UserError(`${label}: invalid YAML: too many aliases (more than 100 expansions; write the values out instead)`);
    }
    throw new UserError(`${label}: invalid YAML: ${errorMessage(err).split('\n')[0]}`);
  }
}

/** Loads and validates the config; with no file at all, returns the embedded empty default. */
export function loadConfig(options: ConfigSearch = {}): LoadedConfig {
  const file = findConfigPath(options);
  return file ? loadConfigFile(file) : defaultConfig(options.cwd);
}

export function loadConfigFile(file: string): LoadedConfig {
  const label = path.basename(file);
  const text = readLimited(file, label, MAX_CONFIG_BYTES);
  const data = parseDataText(file, text, label);
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new UserError(`${label}: (top level): expected a mapping of keys such as gerrit, projects, templates`);
  }
  const config = parseOrThrow(ConfigSchema, data, label);
  const dir = path.dirname(file);
  for (const [i, project] of config.projects.entries()) {
    for (const [j, name] of project.templates.entries()) {
      if (!(name in config.templates)) {
        throw new UserError(`${label}: projects[${i}].templates[${j}]: no template named "${name}" under templates`);
      }
    }
  }
  return { path: file, dir, config, sha256: sha256Text(text) };
}

/** Resolves a template by name, loading it from its file when the config only names a path. */
export function resolveTemplate(loaded: LoadedConfig, name: string): TemplateDefinition {
  const entry = loaded.config.templates[name];
  const label = loaded.path ? path.basename(loaded.path) : 'config';
  if (entry === undefined) {
    const known = Object.keys(loaded.config.templates);
    throw new UserError(`${label}: templates.${name}: no such template`, {
      hint: known.length ? `known templates: ${known.join(', ')}` : 'the config defines no templates',
    });
  }
  if (typeof entry !== 'string') return entry;
  const file = path.resolve(loaded.dir, entry);
  return parseOrThrow(TemplateSchema, readDataFile(file, entry), entry);
}

/** Loads a server-group definition from a YAML or JSON file. */
export function loadGroupFile(file: string): GroupDefinition {
  const label = path.basename(file);
  return parseOrThrow(GroupDefinitionSchema, readDataFile(file, label), label);
}
