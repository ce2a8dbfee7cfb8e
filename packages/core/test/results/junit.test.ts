import { expect } from 'chai';
import { parseJunitXml, ResultsParseError, rollUpResults } from '../../src/results/index.js';

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
