import type { XMLParser } from 'fast-xml-parser';
import { lazyRequire } from '../lazy.js';
import { suiteFromCases } from './summary.js';
import type { SuiteResults, TestCaseResult } from './types.js';

export class ResultsParseError extends Error {
  override readonly name = 'ResultsParseError';
}

type XmlNode = Record<string, unknown>;

const fxp = lazyRequire<typeof import('fast-xml-parser')>('fast-xml-parser');

const parser = (): XMLParser =>
  new (fxp().XMLParser)({
    ignoreAttributes: false,
    attributeNamePrefix: '@',
    textNodeName: '#text',
    parseAttributeValue: false,
    parseTagValue: false,
    trimValues: true,
    // Numeric character references (&#10; in pytest's messages, &#34; in gotestsum's ids) are XML too.
    htmlEntities: true,
    isArray: (name) => ['testsuite', 'testcase', 'failure', 'error', 'skipped', ...RERUN_ELEMENTS].includes(name),
  });

/** Surefire's reruns: flaky* when a rerun passed, rerun* for each rerun that failed again. */
const RERUN_ELEMENTS = ['flakyFailure', 'flakyError', 'rerunFailure', 'rerunError'];

/**
 * A `time` attribute in milliseconds: plain seconds, or with thousands grouped by commas as Surefire
 * writes them ("2,503.1"), or a decimal comma ("0,25"). Anything else, such as "2,503" (2503 s or
 * 2.503 s?), is left out as 0 rather than misread.
 */
export function junitSeconds(value: unknown): number {
  const raw = String(value ?? '').trim();
  let n: number | undefined;
  if (/^\d+(\.\d+)?([eE][-+]?\d+)?$/.test(raw)) n = Number(raw);
  else if (/^\d{1,3}(,\d{3})+\.\d+$/.test(raw)) n = Number(raw.replace(/,/g, ''));
  else if (/^\d+,(\d{1,2}|\d{4,})$/.test(raw)) n = Number(raw.replace(',', '.'));
  return n !== undefined && Number.isFinite(n) && n > 0 ? Math.round(n * 1000) : 0;
}

function text(node: unknown): string | undefined {
  if (node === undefined || node === null) return undefined;
  if (typeof node === 'string') return node.trim() || undefined;
  const n = node as XmlNode;
  const message = typeof n['@message'] === 'string' && n['@message'] ? (n['@message'] as string) : undefined;
  const body = typeof n['#text'] === 'string' && n['#text'] ? (n['#text'] as string) : undefined;
  return message ?? body;
}

function caseResult(tc: XmlNode, suiteName: string | undefined): TestCaseResult {
  const name = String(tc['@name'] ?? '');
  const classname = String(tc['@classname'] ?? tc['@class'] ?? suiteName ?? '');
  const id = classname && name ? `${classname}.${name}` : name || classname || '(unnamed)';
  const first = (key: string) => (tc[key] as unknown[] | undefined)?.[0];
  const durationMs = junitSeconds(tc['@time']);
  if (tc.failure) return { id, outcome: 'failed', durationMs, message: text(first('failure')) };
  if (tc.error) return { id, outcome: 'error', durationMs, message: text(first('error')) };
  const rerun = RERUN_ELEMENTS.find((name) => tc[name]);
  if (rerun) return { id, outcome: 'flaky', durationMs, message: text(first(rerun)) };
  if (tc.skipped) return { id, outcome: 'skipped', durationMs, message: text(first('skipped')) };
  return { id, outcome: 'passed', durationMs };
}

/**
 * Errors a suite reports outside any test case: `<error>` elements of the suite itself (a class that
 * failed to load), or an `errors` counter on a suite with no test case at all (gotestsum on a package
 * that did not compile). Each becomes an error case named after the suite.
 */
function suiteErrors(suite: XmlNode, label: string): TestCaseResult[] {
  const id = typeof suite['@name'] === 'string' && suite['@name'] ? (suite['@name'] as string) : label;
  const own = ((suite.error as unknown[] | undefined) ?? []).map((e): TestCaseResult => ({ id, outcome: 'error', durationMs: 0, message: text(e) ?? 'error outside any test case' }));
  if (own.length > 0 || suite.testcase || suite.testsuite) return own;
  const declared = Number.parseInt(String(suite['@errors'] ?? '0'), 10);
  if (!(declared > 0)) return [];
  return [{ id, outcome: 'error', durationMs: junitSeconds(suite['@time']), message: `${label}: the suite reports ${declared} error${declared > 1 ? 's' : ''} but no test case (a build or load failure?)` }];
}

function collectSuites(node: XmlNode, out: XmlNode[]): void {
  for (const suite of (node.testsuite as XmlNode[] | undefined) ?? []) {
    out.push(suite);
    collectSuites(suite, out);
  }
}

/**
 * Parses JUnit XML (`<testsuites>` or a bare `<testsuite>`, nested suites allowed) into test cases.
 * Skipped tests keep their reason (the `message` attribute, else the element text).
 */
export function parseJunitXml(xml: string, label = 'results'): SuiteResults {
  let doc: XmlNode;
  try {
    doc = parser().parse(xml, true) as XmlNode;
  } catch (err) {
    throw new ResultsParseError(`${label}: not valid XML: ${(err as Error).message.split('\n')[0]}`);
  }
  const suites: XmlNode[] = [];
  const root = doc.testsuites as XmlNode | string | undefined;
  if (root !== undefined) collectSuites(typeof root === 'object' ? root : {}, suites);
  else collectSuites(doc, suites);
  if (root === undefined && suites.length === 0) {
    throw new ResultsParseError(`${label}: not JUnit XML (expected <testsuites> or <testsuite>)`);
  }
  const cases: TestCaseResult[] = [];
  let suiteTime = 0;
  for (const suite of suites) {
    const name = typeof suite['@name'] === 'string' ? (suite['@name'] as string) : undefined;
    for (const tc of (suite.testcase as XmlNode[] | undefined) ?? []) cases.push(caseResult(tc, name));
    cases.push(...suiteErrors(suite, label));
    if (!suite.testsuite) suiteTime += junitSeconds(suite['@time']);
  }
  if (typeof root === 'object') cases.push(...suiteErrors(root, label));
  const caseTime = cases.reduce((sum, c) => sum + c.durationMs, 0);
  const rootTime = typeof root === 'object' ? junitSeconds(root['@time']) : 0;
  return suiteFromCases(cases, rootTime || suiteTime || caseTime);
}
