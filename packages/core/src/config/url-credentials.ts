/**
 * Credentials written into a URL (`https://user:pass@host`) end up in the store, plan files, job scripts
 * and every log line that names the URL; they are refused where URLs are read.
 */
export function urlCarriesCredentials(value: string): boolean {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(value);
  if (!scheme) return false;
  const authority = value.slice(scheme[0].length).split(/[/?#]/, 1)[0]!;
  const at = authority.lastIndexOf('@');
  if (at < 0) return false;
  const userinfo = authority.slice(0, at);
  // An SSH login name is no secret; over HTTP any user part may be a token.
  return userinfo.includes(':') || /^https?$/i.test(scheme[1]!);
}

/** Where a Gerrit password goes instead of the URL. */
export const GERRIT_SECRETS_HINT =
  'a URL must not carry credentials: put the user name under gerrit.username and the password in GERRIT_HTTP_PASSWORD, ~/.netrc or "bellows login"';

/** Where git credentials go instead of the URL. */
export const GIT_SECRETS_HINT =
  'a URL must not carry credentials: let git find them on the hosts (~/.netrc, a git credential helper) or use an SSH key';

/** Addresses that are published (log links in reviews and the report) or public (Launchpad). */
export const PUBLISHED_URL_HINT = 'a URL must not carry credentials: this one is shown in reviews and the report';
