#!/usr/bin/env node
// Writes docs/commands.md from the built CLIs' own metadata (summaries, flags, examples),
// so the reference never drifts from --help. Run after `npm run build`.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Config } from '@oclif/core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const GLOBAL = new Set(['json', 'config', 'state', 'verbose', 'color']);
const out = [
  '# Commands',
  '',
  'Generated from the CLIs by `node scripts/commands-doc.mjs`; `--help` on any command says the same.',
  '',
  'Every command also takes the global flags `--config FILE` (`SMOKESTACK_CONFIG`), `--state FILE` (`SMOKESTACK_STATE`), `--verbose`, `--no-color` (`NO_COLOR`) and, where it reports something, `--json`.',
  '',
];

for (const cli of ['bellows', 'firestack', 'reviewday']) {
  const config = await Config.load(path.join(root, 'packages', cli));
  out.push(`## ${cli}`, '', config.pjson.description ?? '', '');
  const commands = config.commands.filter((c) => c.pluginName === config.pjson.name).sort((a, b) => a.id.localeCompare(b.id));
  for (const command of commands) {
    const id = command.id.split(':').join(' ');
    out.push(`### \`${cli} ${id}\``, '', command.summary ?? '', '');
    if (command.description) out.push(command.description, '');
    const args = Object.values(command.args ?? {});
    const flags = Object.entries(command.flags ?? {}).filter(([name, f]) => !GLOBAL.has(name) && !f.hidden);
    if (args.length || flags.length) {
      out.push('| argument or flag | meaning |', '|---|---|');
      for (const a of args) out.push(`| \`${a.name.toUpperCase()}\`${a.required ? '' : ' (optional)'} | ${a.description ?? ''} |`);
      for (const [name, f] of flags) {
        const short = f.char ? `-${f.char}, ` : '';
        const value = f.type === 'option' ? ` ${f.multiple ? 'VALUE…' : 'VALUE'}` : '';
        const extra = [f.required ? 'required' : '', f.env ? `env ${f.env}` : '', f.default !== undefined && typeof f.default !== 'function' ? `default ${f.default}` : '']
          .filter(Boolean)
          .join('; ');
        out.push(`| \`${short}--${name}${value}\` | ${(f.description ?? '').replaceAll('|', '\\|')}${extra ? ` (${extra})` : ''} |`);
      }
      out.push('');
    }
    const examples = (command.examples ?? []).map((e) => (typeof e === 'string' ? e : e.command).replaceAll('<%= config.bin %>', cli));
    if (examples.length) out.push('```sh', ...examples, '```', '');
  }
}
fs.writeFileSync(path.join(root, 'docs', 'commands.md'), `${out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd()}\n`);
console.log(`wrote docs/commands.md`);
