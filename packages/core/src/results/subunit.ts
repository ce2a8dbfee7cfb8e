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

/** Splits a subunit v2 byte stream into packets, checking every CRC32; bytes between packets are ignored. */
export function readSubunitPackets(data: Buffer, label = 'subunit'): SubunitPacket[] {
  const packets: SubunitPacket[] = [];
  let pos = 0;
  while (pos < data.length) {
    if (data[pos] !== SUBUNIT_SIGNATURE) {
      pos++;
      continue;
    }
    const where = `${label}: packet at byte ${pos}`;
    if (pos + 4 > data.length) throw new ResultsParseError(`${where}: truncated header`);
    const flags = data.readUInt16BE(pos + 1);
    if (flags >> 12 !== 0x2) throw new ResultsParseError(`${where}: unsupported subunit version ${flags >> 12} (expected 2)`);
    const header = new Reader(data, pos + 3, data.length, where);
    const length = header.varint();
    const end = pos + length;
    if (length < 7 || end > data.length) throw new ResultsParseError(`${where}: length ${length} runs past the end of the stream`);
    const stored = data.readUInt32BE(end - 4);
    const computed = zlib.crc32(data.subarray(pos, end - 4)) >>> 0;
    if (stored !== computed) {
      throw new ResultsParseError(`${where}: bad CRC32 (stored 0x${stored.toString(16)}, computed 0x${computed.toString(16)})`);
    }
    const r = new Reader(data, header.pos, end - 4, where);
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
    packets.push(packet);
    pos = end;
  }
  return packets;
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
  return ts ? ts.seconds * 1000 + Math.floor(ts.nanos / 1e6) : undefined;
}

/**
 * Parses a subunit v2 stream into test cases: the final status of each test id, its duration
 * (first to last timestamp), the `reason` attachment of skips and the `traceback` of failures.
 * A test seen `inprogress` that never finished counts as an error.
 */
export function parseSubunitV2(data: Buffer, label = 'subunit'): SuiteResults {
  const tests = new Map<string, TestState>();
  let first: number | undefined;
  let last: number | undefined;
  for (const packet of readSubunitPackets(data, label)) {
    const at = millis(packet.timestamp);
    if (at !== undefined) {
      first = Math.min(first ?? at, at);
      last = Math.max(last ?? at, at);
    }
    if (packet.testId === undefined) continue;
    let state = tests.get(packet.testId);
    if (!state) {
      state = { files: new Map() };
      tests.set(packet.testId, state);
    }
    if (at !== undefined) {
      state.start ??= at;
      state.end = at;
    }
    if (packet.status) state.status = packet.status;
    if (packet.file) {
      const chunks = state.files.get(packet.file.name) ?? [];
      chunks.push(packet.file.content);
      state.files.set(packet.file.name, chunks);
    }
  }
  const cases: TestCaseResult[] = [];
  for (const [id, state] of tests) {
    if (!state.status || state.status === 'exists') continue;
    const outcome = OUTCOME[state.status] ?? 'error';
    const durationMs = state.start !== undefined && state.end !== undefined ? state.end - state.start : 0;
    const attachment = (name: string) => {
      const chunks = state.files.get(name);
      return chunks ? Buffer.concat(chunks).toString('utf8').trim() || undefined : undefined;
    };
    let message: string | undefined;
    if (outcome === 'skipped') message = attachment('reason');
    else if (outcome === 'failed') message = attachment('traceback') ?? attachment('reason') ?? (state.status === 'uxsuccess' ? 'unexpected success' : undefined);
    else if (outcome === 'error') message = 'test started but never finished';
    cases.push(message ? { id, outcome, durationMs, message } : { id, outcome, durationMs });
  }
  const total = first !== undefined && last !== undefined ? last - first : undefined;
  return suiteFromCases(cases, total);
}
