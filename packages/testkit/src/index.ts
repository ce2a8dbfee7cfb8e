export * from './gerrit/index.js';
export * from './openstack/index.js';
export * from './sshd/index.js';
export * from './launchpad/index.js';
export * from './cli.js';
export * from './demo/index.js';
export * from './proxy.js';
export * from './uncaught.js';
