import zlib from 'node:zlib';
import { expect } from 'chai';
import { parseSubunitV2, readSubunitPackets, ResultsParseError } from '../../src/results/index.js';

// An independent encoder written from the subunit v2 spec, so the parser is checked against bytes, not against itself.
function number(value: number): Buffer {
  if (value < 0x40) return Buffer.from([value]);
  if (value < 0x4000) return Buffer.from([0x40 | (value >> 8), value & 0xff]);
  if (value < 0x400000) return Buffer.from([0x80 | (value >> 16), (value >> 8) & 0xff, value & 0xff]);
  return Buffer.from([0xc0 | (value >>> 24), (value >> 16) & 0xff, (value >> 8) & 0xff, value & 0xff]);
}
const utf8 = (s: string) => Buffer.concat([number(Buffer.byteLength(s)), Buffer.from(s, 'utf8')]);
const STATUS = { exists: 1, inprogress: 2, success: 3, uxsuccess: 4, skip: 5, fail: 6, xfail: 7 } as const;

function packet(p: { id?: string; status?: keyof typeof STATUS; at?: number; tags?: string[]; mime?: string; file?: [string, string]; eof?: boolean }): Buffer {
  let flags = 0x2000 | 0x0100;
  const body: Buffer[] = [];
  if (p.at !== undefined) {
    flags |= 0x0200;
    const ts = Buffer.alloc(4);
    ts.writeUInt32BE(Math.floor(p.at));
    body.push(ts, number(Math.round((p.at % 1) * 1e9)));
  }
  if (p.id !== undefined) (flags |= 0x0800), body.push(utf8(p.id));
  if (p.tags) (flags |= 0x0080), body.push(number(p.tags.length), ...p.tags.map(utf8));
  if (p.mime) (flags |= 0x0020), body.push(utf8(p.mime));
  if (p.file) (flags |= 0x0040), body.push(utf8(p.file[0]), number(Buffer.byteLength(p.file[1])), Buffer.from(p.file[1]));
  if (p.eof) flags |= 0x0010;
  if (p.status) flags |= STATUS[p.status];
  const bodyBytes = Buffer.concat(body);
  const base = 1 + 2 + bodyBytes.length + 4;
  const length = base + (base <= 62 ? 1 : base <= 16381 ? 2 : 3);
  const head = Buffer.alloc(3);
  head[0] = 0xb3;
  head.writeUInt16BE(flags, 1);
  const content = Buffer.concat([head, number(length), bodyBytes]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(content) >>> 0);
  return Buffer.concat([content, crc]);
}

const T0 = 1_700_000_000;

function demoStream(): Buffer {
  return Buffer.concat([
    packet({ id: 'demo.test_ok', status: 'inprogress', at: T0 }),
    packet({ id: 'demo.test_ok', status: 'success', at: T0 + 0.25, tags: ['worker-0'] }),
    packet({ id: 'demo.test_bad', status: 'inprogress', at: T0 + 0.25 }),
    packet({ id: 'demo.test_bad', at: T0 + 0.5, mime: 'text/x-traceback; charset=utf8', file: ['traceback', 'AssertionError: 1 != 2'], eof: true }),
    packet({ id: 'demo.test_bad', status: 'fail', at: T0 + 0.5 }),
    Buffer.from('stray stdout between packets\n'),
    packet({ id: 'demo.test_later', status: 'inprogress', at: T0 + 0.5 }),
    packet({ id: 'demo.test_later', at: T0 + 0.5, mime: 'text/plain;charset=utf8', file: ['reason', 'needs libvirt'], eof: true }),
    packet({ id: 'demo.test_later', status: 'skip', at: T0 + 0.5 }),
    packet({ id: 'demo.test_known_bug', status: 'xfail', at: T0 + 0.75 }),
    packet({ id: 'demo.listed_only', status: 'exists' }),
    packet({ id: 'demo.test_hung', status: 'inprogress', at: T0 + 1 }),
    packet({ id: 'demo.test_big', status: 'success', at: T0 + 1, file: ['log', 'x'.repeat(20_000)] }),
  ]);
}

describe('results/subunit', () => {
  it('reads packet fields exactly as encoded by the v2 spec (1-, 2- and 3-byte lengths)', () => {
    const packets = readSubunitPackets(demoStream());
    expect(packets[1]).to.deep.include({ testId: 'demo.test_ok', status: 'success', tags: ['worker-0'], eof: false, runnable: true });
    expect(packets[1]!.timestamp).to.deep.equal({ seconds: T0, nanos: 250_000_000 });
    expect(packets[3]!.file!.content.toString()).to.equal('AssertionError: 1 != 2');
    expect(packets.at(-1)!.file!.content.length).to.equal(20_000);
  });

  it('turns a stream into outcomes, durations, skip reasons and failure tracebacks', () => {
    const r = parseSubunitV2(demoStream());
    expect(r).to.include({ tests: 6, failures: 1, errors: 1, skipped: 1, durationMs: 1000 });
    const byId = Object.fromEntries(r.cases.map((c) => [c.id, c]));
    expect(byId['demo.test_ok']).to.deep.equal({ id: 'demo.test_ok', outcome: 'passed', durationMs: 250 });
    expect(byId['demo.test_bad']).to.deep.include({ outcome: 'failed', message: 'AssertionError: 1 != 2' });
    expect(byId['demo.test_later']).to.deep.include({ outcome: 'skipped', message: 'needs libvirt' });
    expect(byId['demo.test_known_bug']!.outcome).to.equal('passed');
    expect(byId['demo.test_hung']!.outcome).to.equal('error');
    expect(byId).not.to.have.property('demo.listed_only');
  });

  it('refuses a packet whose CRC32 does not match, naming the byte offset', () => {
    const bytes = packet({ id: 'demo.x', status: 'success' });
    bytes[6] = bytes[6]! ^ 0xff;
    expect(() => parseSubunitV2(bytes, 'suite.subunit')).to.throw(ResultsParseError, /suite\.subunit: packet at byte 0: bad CRC32/);
  });

  it('refuses a truncated stream and a v1 stream disguised with the signature byte', () => {
    const bytes = packet({ id: 'demo.x', status: 'success' });
    expect(() => parseSubunitV2(bytes.subarray(0, bytes.length - 2))).to.throw(ResultsParseError, /runs past the end/);
    expect(() => parseSubunitV2(Buffer.from([0xb3, 0x10, 0x00, 0x07, 0, 0, 0, 0]))).to.throw(ResultsParseError, /version 1/);
  });
});
