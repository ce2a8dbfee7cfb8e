import zlib from 'node:zlib';
import { expect } from 'chai';
import { parseSubunitV2, readSubunitPackets, ResultsParseError, type TestOutcome } from '../../src/results/index.js';
import { corpusFile, corpusFiles, subunitReference } from './corpus.js';

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

  it('keeps what was read before a bad CRC32 and reads on, with one parser-error case naming the byte offset', () => {
    const bad = packet({ id: 'demo.y', status: 'success' });
    bad[6] = bad[6]! ^ 0xff;
    const r = parseSubunitV2(Buffer.concat([packet({ id: 'demo.x', status: 'success' }), bad, packet({ id: 'demo.z', status: 'skip' })]), 'suite.subunit');
    expect(r.cases.map((c) => [c.id, c.outcome])).to.deep.equal([
      ['demo.x', 'passed'],
      ['demo.z', 'skipped'],
      ['subunit.parser', 'error'],
    ]);
    expect(r.cases[2]!.message).to.match(/^suite\.subunit: packet at byte \d+: bad CRC32/);
  });

  it('refuses a v1 stream even when it begins with the signature byte', () => {
    expect(() => parseSubunitV2(Buffer.from([0xb3, 0x10, 0x00, 0x07, 0, 0, 0, 0]), 'x.subunit')).to.throw(ResultsParseError, /x\.subunit: not a subunit v2 stream/);
  });
});

describe('results/subunit on real producers', () => {
  it("keeps a test's child process output between packets as the suite's stdout (python-subunit's runner)", () => {
    // Given the raw stream of `python3 -m subunit.run`: a child prints "ó" (C3 B3; B3 is the packet signature)
    const stream = corpusFile('subunit/python-subunit-run.subunit');
    expect(stream.includes(Buffer.from('concluída: ó\n'))).to.equal(true);
    // When it is parsed
    const r = parseSubunitV2(stream, 'python-subunit-run.subunit');
    // Then no test is lost to a parser error, and the stray output is the suite's stdout
    expect(r.cases.find((c) => c.id === 'subunit.parser')).to.equal(undefined);
    expect(r).to.include({ tests: 7, failures: 3, errors: 0, skipped: 1 });
    expect(r.cases.find((c) => c.id.endsWith('test_child_writes_to_stdout'))!.outcome).to.equal('passed');
    expect(r.stdout).to.equal('Ação concluída: ó\n');
  });

  it('keeps the stdout that stestr re-encodes as packets of no test', () => {
    expect(parseSubunitV2(corpusFile('subunit/stestr-run.subunit')).stdout).to.equal('Ação concluída: ó\n');
  });

  const notSubunit: Array<[string, RegExp]> = [
    ['other/v1.subunit', /a subunit v1 stream/],
    ['junit/pytest-xunit1.xml', /JUnit XML/],
    ['other/go-test.json', /go test -json output/],
    ['other/empty.subunit', /an empty file/],
    ['other/stestr-no-match.subunit', /text: "The specified regex doesn't match with anything"/],
  ];
  for (const [file, looksLike] of notSubunit) {
    it(`refuses ${file}, naming the file and what it looks like`, () => {
      expect(() => parseSubunitV2(corpusFile(file), file)).to.throw(ResultsParseError, new RegExp(`^${file.replace(/[./]/g, '\\$&')}: not a subunit v2 stream .*${looksLike.source}`));
    });
  }

  it('keeps the results read before a stream was cut short, plus one parser-error case', () => {
    const r = parseSubunitV2(corpusFile('subunit/truncated.subunit'), 'truncated.subunit');
    const parser = r.cases.filter((c) => c.id === 'subunit.parser');
    expect(parser).to.have.length(1);
    expect(parser[0]).to.deep.include({ outcome: 'error' });
    expect(parser[0]!.message).to.match(/^truncated\.subunit: packet at byte \d+: .*(past the end|cut short)/);
    expect(r.cases.length).to.be.greaterThan(1);
  });

  it("measures a test's duration from its own status packets, not stestr's later enumeration packets", () => {
    const r = parseSubunitV2(corpusFile('subunit/stestr-run.subunit'));
    for (const c of r.cases) expect(c.durationMs, c.id).to.be.at.least(0);
    // test_passes sleeps 0.2 s
    expect(r.cases.find((c) => c.id.endsWith('test_passes'))!.durationMs).to.be.within(200, 2000);
  });

  describe('agrees with subunit-stats, subunit2pyunit and subunit2csv (python-subunit)', () => {
    // How python-subunit's words map to ours: an unexpected success fails a run (as stestr and unittest say),
    // though subunit-stats and subunit2csv count it as passed.
    const OURS: Record<string, TestOutcome[]> = {
      ok: ['passed'],
      'expected failure': ['passed'],
      FAIL: ['failed', 'error'],
      ERROR: ['failed', 'error'],
      skipped: ['skipped'],
      'unexpected success': ['failed'],
    };
    for (const file of corpusFiles('subunit', '.subunit')) {
      it(file, () => {
        const stream = corpusFile(file);
        const ref = subunitReference(stream);
        const r = parseSubunitV2(stream, file);
        const byId = new Map(r.cases.map((c) => [c.id, c]));
        // ids
        expect([...byId.keys()].sort()).to.deep.equal([...ref.verdicts.keys()].sort());
        // statuses and skip reasons
        for (const [id, { verdict, reason }] of ref.verdicts) {
          expect(OURS[verdict], `${id}: ${verdict}`).to.include(byId.get(id)!.outcome);
          if (verdict === 'skipped') expect(byId.get(id)!.message, id).to.equal(reason);
        }
        // counts
        const ux = [...ref.verdicts.values()].filter((v) => v.verdict === 'unexpected success').length;
        expect(r.tests).to.equal(ref.stats.total);
        expect(r.skipped).to.equal(ref.stats.skipped);
        expect(r.tests - r.failures - r.errors - r.skipped + ux).to.equal(ref.stats.passed);
        expect(r.failures + r.errors - ux).to.equal(ref.stats.failed);
        // durations: testtools' start and stop of each test, to the millisecond
        if (ref.csv) expect([...ref.csv.keys()].sort()).to.deep.equal([...byId.keys()].sort());
        for (const [id, row] of ref.csv ?? []) {
          const expected = Date.parse(row.stop.replace(' ', 'T')) - Date.parse(row.start.replace(' ', 'T'));
          expect(byId.get(id)!.durationMs, id).to.be.closeTo(expected, 1);
        }
      });
    }
  });
});
