export * from './known-hosts.js';
export * from './connection.js';
export * from './pool.js';
export * from './output.js';
export * from './keys.js';
export * from './host-key-policy.js';
