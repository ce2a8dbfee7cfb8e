import type { LoadedConfig } from '../config/load.js';
import { gerritHttpPassword, type CredentialSources } from '../config/credentials.js';
import { GerritRestClient } from '../gerrit/rest.js';
import type { BackoffOptions } from '../net/retry.js';
import { silentLogger, type Logger } from '../log/logger.js';
import type { Store } from '../store/types.js';
import { webSettings } from '../web/layout.js';
import { bellowsSettings, requireGerrit, type BellowsSettings } from './settings.js';

/** Everything a bellows service works with; passed in, never global. */
export interface BellowsContext {
  store: Store;
  gerrit: GerritRestClient;
  settings: BellowsSettings;
  logger: Logger;
  now: () => Date;
}

export interface ContextOptions {
  loaded: LoadedConfig;
  store: Store;
  logger?: Logger;
  credentials?: CredentialSources;
  /** Overrides the HTTP password lookup (GERRIT_HTTP_PASSWORD, ~/.netrc, credential store). */
  password?: string;
  backoff?: BackoffOptions;
  now?: () => Date;
}

/** Builds the Gerrit client and settings from the config; the HTTP password is registered as a secret. */
export function createBellowsContext(options: ContextOptions): BellowsContext {
  const logger = options.logger ?? silentLogger();
  const gerrit = requireGerrit(options.loaded);
  const password = options.password ?? gerritHttpPassword(gerrit.url, gerrit.username, options.credentials);
  logger.addSecret(password);
  return {
    store: options.store,
    gerrit: GerritRestClient.fromConfig(gerrit, { password, logger, backoff: options.backoff }),
    settings: bellowsSettings(options.loaded, options.store.jobsDir, webSettings(options.loaded, options.store)),
    logger,
    now: options.now ?? (() => new Date()),
  };
}
