import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PostgresStore, StateStore, type Store } from '@smokestack/core';
import { startPostgres, type TestPostgres } from '@smokestack/testkit';

/** One kind of store the shared suites run against: a fresh, empty store per test. */
export interface Backend {
  name: 'file' | 'postgresql';
  /** Where the current test's store is: the file path or the database URL. */
  location(): string;
  /** A new handle on the current test's store (as another process would open it). */
  open(): Store;
  /** The current test's temporary directory (logs, data dir). */
  dir(): string;
  /** The PostgreSQL cluster (postgresql only). */
  cluster(): TestPostgres;
}

/**
 * Runs `suite` once per store kind. The PostgreSQL cluster is started once per describe block
 * (in a temporary directory, stopped after it, also when a test fails) and each test gets a
 * database of its own.
 */
export function describeBackends(title: string, suite: (backend: Backend) => void, only?: Backend['name']): void {
  for (const name of ['file', 'postgresql'] as const) {
    if (only && only !== name) continue;
    describe(`${title} (${name} store)`, function () {
      let cluster: TestPostgres | undefined;
      let dir = '';
      let location = '';
      const opened: Store[] = [];
      if (name === 'postgresql') {
        before(async function () {
          this.timeout(180_000);
          cluster = await startPostgres({ settings: { fsync: 'off' } });
        });
        after(async () => cluster?.stop());
      }
      beforeEach(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), `smokestack-${name}-store-`));
        location = name === 'file' ? path.join(dir, 'state.json') : await cluster!.createDatabase();
      });
      afterEach(async () => {
        await Promise.all(opened.splice(0).map((s) => s.close()));
        fs.rmSync(dir, { recursive: true, force: true });
      });
      suite({
        name,
        location: () => location,
        dir: () => dir,
        cluster: () => cluster!,
        open: () => {
          const store = name === 'file' ? new StateStore(location) : new PostgresStore(location, { dataDir: path.join(dir, 'data') });
          opened.push(store);
          return store;
        },
      });
    });
  }
}
