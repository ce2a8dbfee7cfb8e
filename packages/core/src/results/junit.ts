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
    isArray: (name) => ['testsuite', 'testcase', 'failure', 'error', 'skipped'].includes(name),
  });

function seconds(value: unknown): number {
  const n = Number.parseFloat(String(value ?? ''));
  return Number.isFinite(n) && n > 0 ? Math.round(n * 1000) : 0;
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
  const durationMs = seconds(tc['@time']);
  if (tc.failure) return { id, outcome: 'failed', durationMs, message: text(first('failure')) };
  if (tc.error) return { id, outcome: 'error', durationMs, message: text(first('error')) };
  if (tc.skipped) return { id, outcome: 'skipped', durationMs, message: text(first('skipped')) };
  return { id, outcome: 'passed', durationMs };
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
    if (!suite.testsuite) suiteTime += seconds(suite['@time']);
  }
  const caseTime = cases.reduce((sum, c) => sum + c.durationMs, 0);
  const rootTime = typeof root === 'object' ? seconds(root['@time']) : 0;
  return suiteFromCases(cases, rootTime || suiteTime || caseTime);
}
