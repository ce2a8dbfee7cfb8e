import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { expect } from 'chai';
import { appendToArchive, emptyArchiveMark, type ArchiveMark } from '../../src/store/archive.js';

/** Records whose archive lines (newline included) are exactly `lineBytes` long. */
function records(count: number, lineBytes: number): { id: string; pad: string }[] {
  return Array.from({ length: count }, (_, i) => {
    const id = `j${i}`;
    const bare = JSON.stringify({ id, pad: '' }).length + 1;
    return { id, pad: 'x'.repeat(lineBytes - bare) };
  });
}

/**
 * Every record's id, read in a worker thread: a reader spinning on a chunk boundary never gives the
 * event loop back, so only a thread that can be terminated turns that into a failure, not a hung suite.
 */
function readAll(dir: string, mark: ArchiveMark, order: 'newest-first' | 'oldest-first'): Promise<string[]> {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    import('tsx/esm/api').then(({ register }) => { register(); return import(workerData.module); }).then(async ({ readArchive }) => {
      const ids = [];
      for await (const record of readArchive(workerData.dir, workerData.mark, workerData.order)) ids.push(record.id);
      parentPort.postMessage(ids);
    });`;
  const module = new URL('../../src/store/archive.ts', import.meta.url).href;
  const worker = new Worker(code, { eval: true, workerData: { module, dir, mark, order } });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void worker.terminate();
      reject(new Error(`reading the archive ${order} did not finish in 20 s`));
    }, 20_000);
    worker.once('message', (ids: string[]) => {
      clearTimeout(timer);
      void worker.terminate();
      resolve(ids);
    });
    worker.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

describe('the history archive', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smokestack-archive-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  // History is read from the end in chunks of 1 MiB. With lines of 1,025 bytes (a divisor of
  // 2^20 - 1) the first chunk starts exactly on a line's newline, the case that once looped forever.
  for (const lineBytes of [1025, 1024, 541, 100_003]) {
    it(`lists every record once, newest or oldest first, with lines of ${lineBytes} bytes across chunk boundaries`, async () => {
      const count = Math.ceil((3 * (1 << 20)) / lineBytes) + 7;
      const written = records(count, lineBytes);
      let mark = emptyArchiveMark('jobs');
      // Appended in a few batches, as the store retires finished jobs.
      for (let from = 0; from < count; from += 900) mark = await appendToArchive(dir, mark, written.slice(from, from + 900));
      expect(fs.statSync(path.join(dir, mark.file)).size).to.equal(count * lineBytes);

      const ids = written.map((r) => r.id);
      expect(await readAll(dir, mark, 'newest-first')).to.deep.equal([...ids].reverse());
      expect(await readAll(dir, mark, 'oldest-first')).to.deep.equal(ids);
    });
  }
});
