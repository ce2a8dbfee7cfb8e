import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The corpus of real producers' output (see fixtures/results/README.md). */
export const CORPUS = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'results');

export function corpusFile(rel: string): Buffer {
  return fs.readFileSync(path.join(CORPUS, rel));
}

export function corpusFiles(dir: string, ext: string): string[] {
  return fs
    .readdirSync(path.join(CORPUS, dir))
    .filter((f) => f.endsWith(ext))
    .sort()
    .map((f) => `${dir}/${f}`);
}

/** What python-subunit's own tools make of a stream. */
export interface SubunitReference {
  stats: { total: number; passed: number; failed: number; skipped: number };
  /** subunit2pyunit's verdict per test id, in its words ("ok", "FAIL", "skipped", "expected failure", "unexpected success"). */
  verdicts: Map<string, { verdict: string; reason?: string }>;
  /** subunit2csv's rows, when it did not crash (it does on parser errors: python-subunit 1.4.0). */
  csv?: Map<string, { status: string; start: string; stop: string }>;
}

function tool(name: string, input: Buffer): { stdout: string; stderr: string } {
  const r = spawnSync(name, [], { input, encoding: 'utf8' });
  if (r.error) throw new Error(`${name}: ${r.error.message} (install python-subunit's tools: bash scripts/install-system-packages.sh)`);
  return { stdout: r.stdout, stderr: r.stderr };
}

/** Python's repr of a string, as subunit2pyunit prints a skip reason, back to the string. */
function unrepr(quoted: string): string {
  return quoted.slice(1, -1).replace(/\\(['"\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

export function subunitReference(stream: Buffer): SubunitReference {
  const statsText = tool('subunit-stats', stream).stdout;
  const number = (label: string) => Number(new RegExp(`${label} tests:\\s+(\\d+)`).exec(statsText)?.[1]);
  const stats = { total: number('Total'), passed: number('Passed'), failed: number('Failed'), skipped: number('Skipped') };

  const verdicts = new Map<string, { verdict: string; reason?: string }>();
  for (const line of tool('subunit2pyunit', stream).stderr.split('\n')) {
    const m = /^(\S+) \.\.\. (ok|FAIL|ERROR|expected failure|unexpected success|skipped (.*))$/.exec(line);
    if (!m) continue;
    verdicts.set(m[1]!, m[3] !== undefined ? { verdict: 'skipped', reason: unrepr(m[3]) } : { verdict: m[2]! });
  }

  const csvRun = tool('subunit2csv', stream);
  let csv: SubunitReference['csv'];
  if (!csvRun.stderr.includes('Traceback')) {
    csv = new Map();
    // A row may follow bytes python-subunit passed through from the stream, hence no ^.
    for (const line of csvRun.stdout.split(/\r?\n/)) {
      const m = /([\w.]+),(\w+),([\d-]+ [\d:.]+\+00:00),([\d-]+ [\d:.]+\+00:00)$/.exec(line);
      if (m) csv.set(m[1]!, { status: m[2]!, start: m[3]!, stop: m[4]! });
    }
  }
  return { stats, verdicts, csv };
}
