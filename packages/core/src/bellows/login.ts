import { storeSecret, type CredentialSources } from '../config/credentials.js';
import type { GerritConfig } from '../config/schema.js';
import { UserError } from '../errors.js';
import { GerritRestClient } from '../gerrit/rest.js';
import type { Logger } from '../log/logger.js';

export interface LoginResult {
  /** The 0600 file the password was stored in. */
  file: string;
  host: string;
  username: string;
  verified: boolean;
  account?: { name?: string; username?: string; email?: string };
}

/** Checks the HTTP password against Gerrit (unless told not to) and stores it in the credential file. */
export async function saveGerritPassword(
  gerrit: GerritConfig,
  password: string,
  options: { verify?: boolean; sources?: CredentialSources; logger?: Logger } = {},
): Promise<LoginResult> {
  if (!gerrit.username) throw new UserError('smokestack.yaml: gerrit.username: needed to log in with an HTTP password');
  if (!password) throw new UserError('the HTTP password is empty', { hint: 'generate one in Gerrit under Settings > HTTP Credentials' });
  options.logger?.addSecret(password);
  const host = new URL(gerrit.url).hostname;
  let account: LoginResult['account'];
  if (options.verify !== false) {
    account = await GerritRestClient.fromConfig(gerrit, { password, logger: options.logger }).getSelf();
  }
  const file = await storeSecret(`gerrit:${host}`, password, options.sources);
  return { file, host, username: gerrit.username, verified: options.verify !== false, account };
}
