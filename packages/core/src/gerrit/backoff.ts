// The retry and backoff helpers live in net/retry.ts, shared by every client; re-exported here for old imports.
export { backoffWithJitter, parseRetryAfter, sleep, type BackoffOptions } from '../net/retry.js';
