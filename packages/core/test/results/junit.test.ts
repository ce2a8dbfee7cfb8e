import { expect } from 'chai';
import { parseJunitXml, ResultsParseError, rollUpResults } from '../../src/results/index.js';
import { corpusFile, corpusFiles } from './corpus.js';

const PYTEST_STYLE = `<?xml version="1.0" encoding="utf-8"?>
<testsuites time="1.50">
  <testsuite name="demoapp" tests="5" failures="1" errors="1" skipped="1" time="1.50">
    <testcase classname="demoapp.cli" name="test_version" time="0.10"/>
    <testcase classname="demoapp.cli" name="test_greeting" time="0.20">
      <failure message="expected hello, got bye" type="AssertionError">Traceback...</failure>
    </testcase>
    <testcase classname="demoapp.cli" name="test_config" time="0.30"><error message="config missing"/></testcase>
    <testcase classname="demoapp.net" name="test_ipv6" time="0"><skipped message="no IPv6 on this host"/></testcase>
    <testcase classname="demoapp.net" name="test_dns"><skipped>needs a resolver</skipped></testcase>
  </testsuite>
</testsuites>`;

describe('results/junit', () => {
  it('counts passed, failed, errored and skipped cases and keeps the skip reasons', () => {
    const r = parseJunitXml(PYTEST_STYLE);
    expect(r).to.include({ tests: 5, failures: 1, errors: 1, skipped: 2, durationMs: 1500 });
    expect(r.cases.find((c) => c.id === 'demoapp.cli.test_greeting')).to.deep.include({ outcome: 'failed', message: 'expected hello, got bye' });
    const roll = rollUpResults([{ results: r }]);
    expect(roll.skipped).to.deep.equal([
      { id: 'demoapp.net.test_ipv6', reason: 'no IPv6 on this host' },
      { id: 'demoapp.net.test_dns', reason: 'needs a resolver' },
    ]);
    expect(roll.failedTests).to.deep.equal(['demoapp.cli.test_greeting', 'demoapp.cli.test_config']);
  });

  it('accepts a bare <testsuite> with a single test case and nested suites', () => {
    const single = parseJunitXml('<testsuite name="s" time="0.5"><testcase name="only" classname="c"/></testsuite>');
    expect(single).to.include({ tests: 1, failures: 0, durationMs: 500 });
    const nested = parseJunitXml(
      '<testsuites><testsuite name="outer"><testsuite name="inner"><testcase name="a"/><testcase name="b"><failure/></testcase></testsuite></testsuite></testsuites>',
    );
    expect(nested.cases.map((c) => c.id)).to.deep.equal(['inner.a', 'inner.b']);
    expect(nested.failures).to.equal(1);
  });

  it('rolls several suites up into one job summary', () => {
    const a = parseJunitXml('<testsuite name="a"><testcase name="x" time="1"/></testsuite>');
    const b = parseJunitXml('<testsuite name="b"><testcase name="y" time="2"><skipped message="later"/></testcase></testsuite>');
    expect(rollUpResults([{ results: a }, { results: b }]).summary).to.deep.equal({ tests: 2, failures: 0, errors: 0, skipped: 1, durationMs: 3000 });
  });

  it('names the file when the content is not JUnit XML', () => {
    expect(() => parseJunitXml('<html><body>oops</body></html>', 'suite/results.xml')).to.throw(ResultsParseError, /suite\/results\.xml: not JUnit XML/);
    expect(() => parseJunitXml('<testsuite><testcase', 'r.xml')).to.throw(ResultsParseError, /r\.xml: not valid XML/);
  });
});

describe('results/junit on real producers', () => {
  const parse = (file: string) => parseJunitXml(corpusFile(file).toString('utf8'), file);
  const byId = (file: string) => new Map(parse(file).cases.map((c) => [c.id, c]));

  it('decodes character references in ids, failure messages and skip reasons (pytest, gotestsum)', () => {
    const pytest = byId('junit/pytest-xunit1.xml');
    expect(pytest.get('test_pytest_demo.test_fails')!.message).to.match(/^AssertionError: .*\n {2}Omitting 1 identical items/);
    expect(pytest.get('test_pytest_demo.test_skipped')!.message).to.equal('needs <libvirt> & "KVM"');
    const go = byId('junit/gotestsum.xml');
    expect(go.has(`example.org/demo/greet.TestSay/say_"hi"_it's`)).to.equal(true);
    expect(go.get('example.org/demo/greet.TestSkipped')!.message).to.include('needs libvirt & KVM\n--- SKIP: TestSkipped');
    for (const file of corpusFiles('junit', '.xml')) {
      for (const c of parse(file).cases) expect(`${c.id} ${c.message ?? ''}`, file).not.to.match(/&(#\d+|#x[0-9a-f]+|amp|lt|gt|quot|apos);/i);
    }
  });

  it('counts a suite-level error with no test case as an error, with its message (Ant, a class that cannot be loaded)', () => {
    const r = parse('junit/ant-MissingDependencyTest.xml');
    expect(r).to.include({ tests: 1, errors: 1 });
    expect(r.cases[0]).to.deep.include({ id: 'demo.MissingDependencyTest', outcome: 'error', message: 'demo/DatabaseFixture' });
  });

  it('counts errors="1" on a suite with no test case as an error (gotestsum, a package that does not compile)', () => {
    const r = parse('junit/gotestsum-build-failure.xml');
    expect(r).to.include({ tests: 1, errors: 1 });
    expect(r.cases[0]!.outcome).to.equal('error');
    expect(r.cases[0]!.message).to.match(/1 error .*no test case/);
  });

  it('counts a bare <skipped/> as skipped (mocha-junit-reporter, rspec_junit_formatter)', () => {
    expect(parse('junit/mocha-junit-reporter.xml')).to.include({ tests: 5, skipped: 2, failures: 1 });
    const rspec = parse('junit/rspec-junit-formatter.xml');
    expect(rspec).to.include({ tests: 6, skipped: 3, failures: 2 });
    expect(rspec.cases.find((c) => c.id.endsWith('Greeter is pending without a block'))!.outcome).to.equal('skipped');
  });

  it("reports Surefire's flakyFailure and flakyError as flaky, and a test failing every rerun as failed", () => {
    const r = parse('junit/surefire-rerun.xml');
    // Surefire's own summary: Tests run: 5, Failures: 1, Errors: 0, Skipped: 1, Flakes: 2
    expect(r).to.include({ tests: 5, failures: 1, errors: 0, skipped: 1, flaky: 2 });
    const cases = new Map(r.cases.map((c) => [c.id, c]));
    expect(cases.get('demo.FlakyTest.passesOnSecondRun')).to.deep.include({ outcome: 'flaky', message: 'first run fails: <port 8080> & "busy"' });
    expect(cases.get('demo.FlakyTest.errorsThenPasses')).to.deep.include({ outcome: 'flaky', message: 'socket closed' });
    expect(cases.get('demo.FlakyTest.alwaysFails')!.outcome).to.equal('failed');
    expect(rollUpResults([{ results: r }])).to.deep.include({ flakyTests: ['demo.FlakyTest.errorsThenPasses', 'demo.FlakyTest.passesOnSecondRun'], failedTests: ['demo.FlakyTest.alwaysFails'] });
  });

  it('reads a time with a thousands separator (Surefire: time="2,501.07") as thousands of seconds', () => {
    const xml = corpusFile('junit/surefire-slow.xml').toString('utf8');
    const written = /name="soaksForAWhile" classname="demo.SlowTest" time="([\d,.]+)"/.exec(xml)![1]!;
    expect(written).to.match(/^\d,\d{3}\.\d+$/);
    const r = parse('junit/surefire-slow.xml');
    expect(r.cases.find((c) => c.id === 'demo.SlowTest.soaksForAWhile')!.durationMs).to.equal(Math.round(Number(written.replace(',', '')) * 1000));
    expect(r.durationMs).to.be.above(2_500_000);
  });

  it("never misreads a time it cannot parse: it is left out", () => {
    const r = parseJunitXml('<testsuite name="s" time="1.234,5"><testcase name="a" time="1,5e3x"/><testcase name="b" time="2,503"/></testsuite>');
    expect(r.cases.map((c) => c.durationMs)).to.deep.equal([0, 0]);
    expect(r.durationMs).to.equal(0);
  });

  describe("agrees with each producer's own counters", () => {
    // Surefire's counters count every rerun, gotestsum's count no test for a build error: both have their own tests above.
    const OWN_RULES = ['junit/surefire-rerun.xml', 'junit/gotestsum-build-failure.xml'];
    for (const file of corpusFiles('junit', '.xml').filter((f) => !OWN_RULES.includes(f))) {
      it(file, () => {
        const xml = corpusFile(file).toString('utf8');
        const r = parse(file);
        const root = /<testsuites\b[^>]*\btests="/.test(xml) ? [/<testsuites\b[^>]*>/.exec(xml)![0]] : xml.match(/<testsuite\b[^>]*>/g)!;
        for (const counter of ['tests', 'failures', 'errors', 'skipped'] as const) {
          const values = root.map((tag) => new RegExp(`\\b${counter}="(\\d+)"`).exec(tag)?.[1]).filter((v): v is string => v !== undefined);
          if (values.length) expect(r[counter], counter).to.equal(values.reduce((sum, v) => sum + Number(v), 0));
        }
      });
    }
  });
});
