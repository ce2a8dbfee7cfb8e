import fs from 'node:fs';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
/**
 * Records that no planner needs any more (finished jobs, votes of outdated patch sets), one JSON
 * record per line, appended in the order they left the live document. The live document records how many bytes of the file are
 * committed (`ArchiveMark.size`): bytes past it were appended by a writer that died before its
 * document was written, and are cut off by the next writer; readers never read past it.
 */
export interface ArchiveMark {
  /** The archive file's name beside the store; a new generation (after prune) gets a new name. */
  file: string;
  /** Committed bytes. */
  size: number;
  /** Committed records. */
  count: number;
}

export function emptyArchiveMark(name: 'jobs' | 'votes'): ArchiveMark {
  return { file: `${name}-archive.1.ndjson`, size: 0, count: 0 };
}

/** Appends jobs after the committed bytes (cutting off what a dead writer left) and answers the new mark. */
export async function appendToArchive<T>(dir: string, mark: ArchiveMark, records: readonly T[]): Promise<ArchiveMark> {
  const file = path.join(dir, mark.file);
  const handle = await fs.promises.open(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
  try {
    const { size } = await handle.stat();
    if (size !== mark.size) await handle.truncate(mark.size);
    if (records.length === 0) return mark;
    const text = Buffer.from(records.map((r) => `${JSON.stringify(r)}\n`).join(''));
    await handle.write(text, 0, text.length, mark.size);
    await handle.sync();
    return { ...mark, size: mark.size + text.length, count: mark.count + records.length };
  } finally {
    await handle.close();
  }
}

/** Writes a new generation holding only the records `keep` accepts (prune); the old one is removed once the document points at the new. */
export async function rewriteArchive<T>(dir: string, mark: ArchiveMark, keep: (record: T) => boolean): Promise<{ mark: ArchiveMark; removed: T[] }> {
  const [, prefix, generation] = /^(.*)\.(\d+)\.ndjson$/.exec(mark.file) ?? [];
  const next: ArchiveMark = { file: `${prefix}.${Number(generation) + 1}.ndjson`, size: 0, count: 0 };
  const kept: T[] = [];
  const removed: T[] = [];
  for await (const record of readArchive<T>(dir, mark, 'oldest-first')) (keep(record) ? kept : removed).push(record);
  if (removed.length === 0) return { mark, removed };
  fs.rmSync(path.join(dir, next.file), { force: true });
  return { mark: await appendToArchive(dir, next, kept), removed };
}

/** Removes archive generations other than the current one (after the document that names it is written). */
export function removeOldGenerations(dir: string, mark: ArchiveMark): void {
  const prefix = mark.file.replace(/\.\d+\.ndjson$/, '');
  for (const name of fs.readdirSync(dir)) {
    if (name.startsWith(`${prefix}.`) && /\.\d+\.ndjson$/.test(name) && name !== mark.file) fs.rmSync(path.join(dir, name), { force: true });
  }
}

const CHUNK = 1 << 20;

/**
 * The committed records, newest first by default, read in chunks from the end so memory stays
 * flat however long the archive is. `match` sees each raw line before it is parsed (a cheap
 * pre-filter for lists).
 */
export async function* readArchive<T>(dir: string, mark: ArchiveMark, order: 'newest-first' | 'oldest-first' = 'newest-first', match?: (line: string) => boolean): AsyncGenerator<T> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(path.join(dir, mark.file), 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  try {
    const lines = order === 'newest-first' ? linesBackward(handle, mark.size) : linesForward(handle, mark.size);
    for await (const line of lines) {
      if (line.length === 0 || (match && !match(line))) continue;
      yield JSON.parse(line) as T;
    }
  } finally {
    await handle.close();
  }
}

/** Where the newline that ends the line before the data's last line is, or -1. */
function lastBreak(data: Buffer): number {
  return data.length < 2 ? -1 : data.lastIndexOf(0x0a, data.length - 2);
}

async function* linesBackward(handle: fs.promises.FileHandle, size: number): AsyncGenerator<string> {
  let end = size;
  let carry = Buffer.alloc(0);
  while (end > 0) {
    const start = Math.max(0, end - CHUNK);
    const buf = Buffer.alloc(end - start);
    await handle.read(buf, 0, buf.length, start);
    let data = Buffer.concat([buf, carry]);
    // Every complete line after the first newline of this chunk; the head waits for the next chunk.
    // The search starts before the data's own last byte (its line's newline); with one byte left
    // there is nothing before it (a negative offset would count from the end and find that newline again).
    for (let nl = lastBreak(data); nl >= 0; nl = lastBreak(data)) {
      yield data.subarray(nl + 1).toString('utf8').trimEnd();
      data = data.subarray(0, nl + 1);
    }
    carry = data;
    end = start;
  }
  if (carry.length > 0) yield carry.toString('utf8').trimEnd();
}

async function* linesForward(handle: fs.promises.FileHandle, size: number): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let pos = 0;
  let carry = '';
  while (pos < size) {
    const buf = Buffer.alloc(Math.min(CHUNK, size - pos));
    await handle.read(buf, 0, buf.length, pos);
    pos += buf.length;
    const text = carry + decoder.write(buf);
    const lines = text.split('\n');
    carry = lines.pop() ?? '';
    yield* lines;
  }
  if (carry) yield carry;
}
