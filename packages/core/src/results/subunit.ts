import zlib from 'node:zlib';
import { ResultsParseError } from './junit.js';
import { suiteFromCases } from './summary.js';
import type { SuiteResults, TestCaseResult, TestOutcome } from './types.js';

/** Subunit v2 packet fields, as the spec and python-subunit's v2.py define them. */
export const SUBUNIT_SIGNATURE = 0xb3;
export const SubunitFlag = {
  testId: 0x0800,
  routeCode: 0x0400,
  timestamp: 0x0200,
  runnable: 0x0100,
  tags: 0x0080,
  fileContent: 0x0040,
  mimeType: 0x0020,
  eof: 0x0010,
} as const;
export const SUBUNIT_STATUSES = [undefined, 'exists', 'inprogress', 'success', 'uxsuccess', 'skip', 'fail', 'xfail'] as const;
export type SubunitStatus = Exclude<(typeof SUBUNIT_STATUSES)[number], undefined>;

export interface SubunitPacket {
  offset: number;
  status?: SubunitStatus;
  testId?: string;
  timestamp?: { seconds: number; nanos: number };
  tags?: string[];
  mimeType?: string;
  file?: { name: string; content: Buffer };
  eof: boolean;
  runnable: boolean;
  routeCode?: string;
}

class Reader {
  constructor(
    private readonly buf: Buffer,
    public pos: number,
    private readonly end: number,
    private readonly where: string,
  ) {}

  private need(n: number): void {
    if (this.pos + n > this.end) throw new ResultsParseError(`${this.where}: field runs past the end of the packet`);
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** The spec's variable-length number: the top two bits of the first byte give 1–4 bytes, big-endian. */
  varint(): number {
    this.need(1);
    const first = this.buf[this.pos]!;
    const extra = first >> 6;
    this.need(1 + extra);
    let value = first & 0x3f;
    for (let i = 1; i <= extra; i++) value = value * 256 + this.buf[this.pos + i]!;
    this.pos += 1 + extra;
    return value;
  }

  bytes(n: number): Buffer {
    this.need(n);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  utf8(): string {
    return this.bytes(this.varint()).toString('utf8');
  }
}

/** What a byte stream held: packets, the bytes between them, and the packets that could not be read. */
export interface SubunitStream {
  packets: SubunitPacket[];
  /** Runs of bytes outside any packet (a test's child writing to the same stdout), with their offsets. */
  stray: Array<{ offset: number; bytes: Buffer }>;
  errors: Array<{ offset: number; message: string }>;
}

type PacketRead = { packet: SubunitPacket; end: number } | { error: string; end?: number };

/** Reads the packet at `pos`; on a bad packet, the error and where reading can go on (none when cut short). */
function readPacket(data: Buffer, pos: number, where: string): PacketRead {
  if (pos + 4 > data.length) return { error: 'header cut short' };
  const flags = data.readUInt16BE(pos + 1);
  let length: number;
  let bodyStart: number;
  try {
    const header = new Reader(data, pos + 3, data.length, where);
    length = header.varint();
    bodyStart = header.pos;
  } catch {
    return { error: 'header cut short' };
  }
  const end = pos + length;
  if (length < 7) return { error: `length ${length} is too short for a packet`, end: pos + 1 };
  if (end > data.length) return { error: `length ${length} runs past the end of the stream (${data.length - pos} bytes left)` };
  const stored = data.readUInt32BE(end - 4);
  const computed = zlib.crc32(data.subarray(pos, end - 4)) >>> 0;
  if (stored !== computed) return { error: `bad CRC32 (stored 0x${stored.toString(16)}, computed 0x${computed.toString(16)})`, end };
  if (flags >> 12 !== 0x2) return { error: `unsupported subunit version ${flags >> 12} (expected 2)`, end };
  try {
    return { packet: packetFields(data, pos, flags, bodyStart, end, where), end };
  } catch (err) {
    return { error: (err as Error).message.slice(where.length + 2), end };
  }
}

function packetFields(data: Buffer, pos: number, flags: number, bodyStart: number, end: number, where: string): SubunitPacket {
  const r = new Reader(data, bodyStart, end - 4, where);
  const packet: SubunitPacket = {
    offset: pos,
    status: SUBUNIT_STATUSES[flags & 0x7],
    eof: Boolean(flags & SubunitFlag.eof),
    runnable: Boolean(flags & SubunitFlag.runnable),
  };
  if (flags & SubunitFlag.timestamp) packet.timestamp = { seconds: r.u32(), nanos: r.varint() };
  if (flags & SubunitFlag.testId) packet.testId = r.utf8();
  if (flags & SubunitFlag.tags) {
    const count = r.varint();
    packet.tags = Array.from({ length: count }, () => r.utf8());
  }
  if (flags & SubunitFlag.mimeType) packet.mimeType = r.utf8();
  if (flags & SubunitFlag.fileContent) {
    const name = r.utf8();
    packet.file = { name, content: Buffer.from(r.bytes(r.varint())) };
  }
  if (flags & SubunitFlag.routeCode) packet.routeCode = r.utf8();
  return packet;
}

/** How many continuation bytes a UTF-8 lead byte announces (0 for ASCII and stray bytes). */
function utf8Continuations(byte: number): number {
  if (byte >= 0xc2 && byte <= 0xdf) return 1;
  if (byte >= 0xe0 && byte <= 0xef) return 2;
  if (byte >= 0xf0 && byte <= 0xf4) return 3;
  return 0;
}

/**
 * Splits a subunit v2 byte stream as python-subunit does: a signature byte starts a packet only
 * between characters of the surrounding output (so "ó", C3 B3, is text); other bytes are kept as
 * stray output; a packet with a bad CRC is reported and skipped; a stream cut short ends reading.
 */
export function readSubunitStream(data: Buffer, label = 'subunit'): SubunitStream {
  const out: SubunitStream = { packets: [], stray: [], errors: [] };
  let pos = 0;
  let strayFrom = -1;
  let pending = 0;
  const flushStray = (to: number): void => {
    if (strayFrom >= 0) out.stray.push({ offset: strayFrom, bytes: Buffer.from(data.subarray(strayFrom, to)) });
    strayFrom = -1;
  };
  while (pos < data.length) {
    const byte = data[pos]!;
    if (pending === 0 && byte === SUBUNIT_SIGNATURE) {
      flushStray(pos);
      const read = readPacket(data, pos, `${label}: packet at byte ${pos}`);
      if ('packet' in read) out.packets.push(read.packet);
      else out.errors.push({ offset: pos, message: read.error });
      if (read.end === undefined) return out;
      pos = read.end;
      continue;
    }
    if (strayFrom < 0) strayFrom = pos;
    pending = pending > 0 && (byte & 0xc0) === 0x80 ? pending - 1 : utf8Continuations(byte);
    pos++;
  }
  flushStray(pos);
  return out;
}

/** The packets of a subunit v2 byte stream (see readSubunitStream for what else it holds). */
export function readSubunitPackets(data: Buffer, label = 'subunit'): SubunitPacket[] {
  return readSubunitStream(data, label).packets;
}

const V1_LINE = /^(?:test|testing|success|successful|failure|error|skip|xfail|uxsuccess|time|tags|progress)[: ]/m;

/** A few words on what a file that is not subunit v2 holds, for the error naming it. */
export function describeContent(data: Buffer): string {
  const head = data.subarray(0, 4096).toString('utf8');
  const text = head.trimStart();
  if (text === '') return 'an empty file';
  if (/^<(\?xml|testsuites?\b)/.test(text)) return /<testsuite/.test(head) ? 'JUnit XML' : 'XML';
  const firstLine = text.split('\n')[0]!;
  if (/^\{.*\}$/.test(firstLine.trim())) {
    return /"Action"\s*:/.test(firstLine) ? 'go test -json output' : 'JSON lines';
  }
  if (V1_LINE.test(head)) return 'a subunit v1 stream (convert it with subunit-1to2)';
  const printable = head.replace(/[^\x09\x0a\x0d\x20-\x7e\u00a0-\uffff]/g, '').length / head.length;
  if (printable < 0.9 || head.includes('\ufffd')) return 'binary data';
  return `text: ${JSON.stringify(firstLine.trim().slice(0, 80))}`;
}

const OUTCOME: Record<SubunitStatus, TestOutcome | undefined> = {
  exists: undefined,
  inprogress: undefined,
  success: 'passed',
  xfail: 'passed',
  uxsuccess: 'failed',
  fail: 'failed',
  skip: 'skipped',
};

interface TestState {
  start?: number;
  end?: number;
  status?: SubunitStatus;
  files: Map<string, Buffer[]>;
}

function millis(ts: SubunitPacket['timestamp']): number | undefined {
  return ts ? ts.seconds * 1000 + ts.nanos / 1e6 : undefined;
}

/** Folds the packets into per-test state; only a test's own status packets time it (stestr stamps its enumeration later). */
function testStates(packets: SubunitPacket[]): Map<string, TestState> {
  const tests = new Map<string, TestState>();
  for (const packet of packets) {
    if (packet.testId === undefined) continue;
    let state = tests.get(packet.testId);
    if (!state) {
      state = { files: new Map() };
      tests.set(packet.testId, state);
    }
    const at = millis(packet.timestamp);
    if (packet.status && packet.status !== 'exists') {
      if (at !== undefined) {
        state.start ??= at;
        state.end = at;
      }
      state.status = packet.status;
    } else if (packet.status === 'exists') state.status ??= 'exists';
    if (packet.file) {
      const chunks = state.files.get(packet.file.name) ?? [];
      chunks.push(packet.file.content);
      state.files.set(packet.file.name, chunks);
    }
  }
  return tests;
}

function testCase(id: string, state: TestState): TestCaseResult | undefined {
  if (!state.status || state.status === 'exists') return undefined;
  const outcome = OUTCOME[state.status] ?? 'error';
  const durationMs = state.start !== undefined && state.end !== undefined ? Math.max(0, Math.round(state.end - state.start)) : 0;
  const attachment = (name: string) => {
    const chunks = state.files.get(name);
    return chunks ? Buffer.concat(chunks).toString('utf8').trim() || undefined : undefined;
  };
  let message: string | undefined;
  if (outcome === 'skipped') message = attachment('reason');
  else if (outcome === 'failed') message = attachment('traceback') ?? attachment('reason') ?? (state.status === 'uxsuccess' ? 'unexpected success' : undefined);
  else if (outcome === 'error') message = 'test started but never finished';
  return message ? { id, outcome, durationMs, message } : { id, outcome, durationMs };
}

/** Output that belongs to no test: stray bytes and `stdout` attachments of no test, in stream order. */
function suiteStdout(stream: SubunitStream): string | undefined {
  const pieces = [
    ...stream.stray,
    ...stream.packets.filter((p) => p.testId === undefined && p.file?.name === 'stdout').map((p) => ({ offset: p.offset, bytes: p.file!.content })),
  ].sort((a, b) => a.offset - b.offset);
  const text = Buffer.concat(pieces.map((p) => p.bytes)).toString('utf8');
  return text === '' ? undefined : text;
}

/**
 * Parses a subunit v2 stream into test cases: the final status of each test id, its duration
 * (its own first to last status packet), the `reason` attachment of skips and the `traceback` of
 * failures; a test seen `inprogress` that never finished is an error. Packets that cannot be read
 * become one `subunit.parser` error case, as python-subunit reports them; what was read is kept.
 * Input holding no subunit v2 packet at all is refused, naming what it looks like.
 */
export function parseSubunitV2(data: Buffer, label = 'subunit'): SuiteResults {
  const stream = readSubunitStream(data, label);
  if (stream.packets.length === 0) {
    const first = stream.errors[0];
    const why = first && data[0] === SUBUNIT_SIGNATURE && data[1]! >> 4 === 0x2 ? `its first packet is unreadable: ${first.message}` : `it looks like ${describeContent(data)}`;
    throw new ResultsParseError(`${label}: not a subunit v2 stream (${why})`);
  }
  const tests = testStates(stream.packets);
  const cases: TestCaseResult[] = [];
  let first: number | undefined;
  let last: number | undefined;
  for (const [id, state] of tests) {
    const c = testCase(id, state);
    if (!c) continue;
    cases.push(c);
    if (state.start !== undefined) first = Math.min(first ?? state.start, state.start);
    if (state.end !== undefined) last = Math.max(last ?? state.end, state.end);
  }
  if (stream.errors.length > 0) {
    const shown = stream.errors.slice(0, 3).map((e) => `${label}: packet at byte ${e.offset}: ${e.message}`);
    if (stream.errors.length > 3) shown.push(`and ${stream.errors.length - 3} more`);
    cases.push({ id: 'subunit.parser', outcome: 'error', durationMs: 0, message: shown.join('; ') });
  }
  const results = suiteFromCases(cases, first !== undefined && last !== undefined ? Math.round(last - first) : undefined);
  const stdout = suiteStdout(stream);
  return stdout === undefined ? results : { ...results, stdout };
}
