import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { UserError } from '../errors.js';
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

export interface LoadedConfig {
  /** The file the config came from, or undefined for the embedded empty default. */
  path?: string;
  dir: string;
  config: SmokestackConfig;
}

/** Reads a YAML or JSON file into plain data; errors name the file and line. */
export function readDataFile(file: string, label = file): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(`${label}: cannot read file (${code ?? String(err)})`);
  }
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
  return doc.toJS() ?? {};
}

/** Loads and validates the config; with no file at all, returns the embedded empty default. */
export function loadConfig(options: ConfigSearch = {}): LoadedConfig {
  const file = findConfigPath(options);
  return file ? loadConfigFile(file) : defaultConfig(options.cwd);
}

export function loadConfigFile(file: string): LoadedConfig {
  const label = path.basename(file);
  const data = readDataFile(file, label);
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
  return { path: file, dir, config };
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
