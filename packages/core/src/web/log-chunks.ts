import fs from 'node:fs';

/**
 * Logs as the viewer reads them: split into numbered parts of whole lines, each a small script
 * (`smokestackLog(index, [lines])`) the page loads only when the reader gets there. Scripts,
 * unlike fetch(), load from a web server and from disk alike, and need no network.
 */

/** Lines per part, and bytes of text per part, whichever comes first. */
export const CHUNK_LINES = 2000;
export const CHUNK_BYTES = 512 * 1024;
/** A line longer than this is cut in the viewer (the raw file keeps it whole). */
export const LINE_CHARS = 20_000;

export interface LogChunk {
  index: number;
  /** Number of its first line (1-based). */
  from: number;
  lines: string[];
}

// CSI/OSC escape sequences, then any other control character but tab.
const ANSI = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b[@-Z\\-_]/g;
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/g;

/** A log line as shown: colours and control characters dropped, a very long line cut. */
export function displayLine(raw: string): string {
  // A terminal shows what follows the last carriage return (progress bars redraw their line).
  const trimmed = raw.replace(/\r+$/, '');
  const line = trimmed.slice(trimmed.lastIndexOf('\r') + 1).replace(ANSI, '').replace(CONTROL, '');
  return line.length > LINE_CHARS ? `${line.slice(0, LINE_CHARS)} … (line cut at ${LINE_CHARS} characters; the raw log has it whole)` : line;
}

/** Collects lines into parts (pure): a part ends after CHUNK_LINES lines or CHUNK_BYTES of text. */
export class ChunkCollector {
  private lines: string[] = [];
  private bytes = 0;
  private next = 0;
  private lineNo = 0;

  constructor(private readonly emit: (chunk: LogChunk) => void) {}

  get lineCount(): number {
    return this.lineNo;
  }

  push(raw: string): void {
    const line = displayLine(raw);
    this.lines.push(line);
    this.lineNo++;
    this.bytes += line.length + 1;
    if (this.lines.length >= CHUNK_LINES || this.bytes >= CHUNK_BYTES) this.flush();
  }

  flush(): void {
    if (this.lines.length === 0) return;
    this.emit({ index: this.next++, from: this.lineNo - this.lines.length + 1, lines: this.lines });
    this.lines = [];
    this.bytes = 0;
  }
}

/** The script of one part. JSON strings are valid script text (U+2028 included since ES2019). */
export function chunkScript(chunk: LogChunk): string {
  return `smokestackLog(${chunk.index},${chunk.from},${JSON.stringify(chunk.lines)});\n`;
}

/** Reads a log file line by line (any size, flat memory), handing each part to `onChunk` as it fills. */
export async function chunkLogFile(file: string, onChunk: (chunk: LogChunk) => void | Promise<void>): Promise<{ lines: number; chunks: Array<{ index: number; from: number; count: number }> }> {
  const parts: LogChunk[] = [];
  const collector = new ChunkCollector((c) => parts.push(c));
  const chunks: Array<{ index: number; from: number; count: number }> = [];
  const drain = async () => {
    for (const part of parts.splice(0)) {
      chunks.push({ index: part.index, from: part.from, count: part.lines.length });
      await onChunk(part);
    }
  };
  // Lines end at "\n" only, as editors and `tail -n` count them (a progress bar's "\r" stays inside its line).
  let rest = '';
  for await (const text of fs.createReadStream(file, { encoding: 'utf8' })) {
    const pieces = (rest + (text as string)).split('\n');
    rest = pieces.pop()!;
    for (const line of pieces) collector.push(line);
    if (parts.length) await drain();
  }
  if (rest) collector.push(rest);
  collector.flush();
  await drain();
  return { lines: collector.lineCount, chunks };
}

/** The last `count` lines of a text file and the number of the first of them (reads only the end). */
export function tailLines(file: string, count: number, maxBytes = 64 * 1024): { first: number; lines: string[] } {
  const size = fs.statSync(file).size;
  const fd = fs.openSync(file, 'r');
  try {
    const start = Math.max(0, size - maxBytes);
    const buf = Buffer.alloc(size - start);
    fs.readSync(fd, buf, 0, buf.length, start);
    let text = buf.toString('utf8');
    if (start > 0) text = text.slice(text.indexOf('\n') + 1);
    const all = text.replace(/\n$/, '').split('\n');
    const lines = all.slice(-count).map(displayLine);
    const total = countLines(fd, size);
    return { first: total - lines.length + 1, lines };
  } finally {
    fs.closeSync(fd);
  }
}

/** Lines in an open file: newlines, plus one for a last line without its newline. */
function countLines(fd: number, size: number): number {
  const buf = Buffer.alloc(1024 * 1024);
  let lines = 0;
  let last = 10;
  for (let pos = 0; pos < size; ) {
    const n = fs.readSync(fd, buf, 0, buf.length, pos);
    if (n <= 0) break;
    for (let i = 0; i < n; i++) if (buf[i] === 10) lines++;
    last = buf[n - 1]!;
    pos += n;
  }
  return size > 0 && last !== 10 ? lines + 1 : lines;
}
