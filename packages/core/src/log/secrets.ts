/** Environment variables whose values are credentials by their name (GERRIT_HTTP_PASSWORD, OS_PASSWORD, *_TOKEN…). */
export const SECRET_NAME = /PASSWORD|PASSWD|SECRET|TOKEN|CREDENTIAL|PRIVATE_KEY|API_KEY|ACCESS_KEY/i;

/** Values never to print: secret-named variables, and passwords inside URL-valued ones (an https_proxy with a login). */
export function secretsInEnvironment(env: Record<string, string | undefined>): string[] {
  const secrets: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!value) continue;
    if (SECRET_NAME.test(name)) secrets.push(value);
    const login = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#@:]*:([^/?#@]+)@/.exec(value);
    if (login) secrets.push(login[1]!, decodeURIComponentSafe(login[1]!));
  }
  return secrets;
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Replaces every occurrence of every secret by ***, longest first (so a secret containing another goes whole). */
export function maskSecrets(text: string, secrets: Iterable<string>): string {
  let out = text;
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) out = out.split(secret).join('***');
  return out;
}
