/**
 * The shape of `source.url` and `target.url`, checked offline so that a mistake in a URL is a plan error
 * at its line (exit 2) rather than a driver's "Invalid URL" at connect time. The messages never quote the
 * URL: the found value is printed masked by the loader (secrets.ts), and the message says what to change.
 */
import { isKeyValueString, isSchemelessUrl, splitUrl } from '../secrets.js';

const SCHEMES = /^(postgres|postgresql|mysql|mariadb|sqlite):/i;
const ENCODE =
  'percent-encode it in the URL (`/` as %2F, `?` as %3F, `#` as %23, `@` as %40, `%` as %25, `:` in the user name as %3A)';

export function urlProblem(url: string): string | undefined {
  if (!SCHEMES.test(url)) return schemeProblem(url);
  if (/^sqlite:/i.test(url)) return undefined;
  const parts = splitUrl(url);
  if (!parts) return 'expected `//` after the scheme, e.g. postgres://user@host:5432/dbname';
  if (/%(?![0-9a-f]{2})/i.test(url)) {
    return 'a `%` that does not start a percent-encoded byte (%XX): write a literal `%` as %25';
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return unparsable(parts.userInfo, parts.rest);
  }
  const after = `${parsed.pathname}${parsed.search}${parsed.hash}`;
  if (parts.userInfo !== undefined && after.includes('@')) {
    return `an \`@\` after the host: a \`/\`, \`?\` or \`#\` in the password ends the user info; ${ENCODE}`;
  }
  if (url.includes('#')) {
    return `a database URL has no \`#\` part: a \`#\` in the password or a value must be written as %23`;
  }
  return undefined;
}

function schemeProblem(url: string): string {
  const expected = 'expected a URL starting with postgres://, mysql://, mariadb:// or sqlite:';
  if (isKeyValueString(url)) {
    return `${expected}; a libpq \`key=value\` connection string is not supported: write it as a URL, postgres://user@host:5432/dbname, with the password percent-encoded after \`user:\` or in a \`password\` query parameter (docs/plan.md)`;
  }
  if (isSchemelessUrl(url)) {
    return `${expected}; this looks like a URL without its scheme: put postgres:// or mysql:// in front`;
  }
  return expected;
}

function unparsable(userInfo: string | undefined, rest: string): string {
  if (userInfo !== undefined && /[/?#]/.test(userInfo)) {
    return `the user name or password holds a \`/\`, \`?\` or \`#\`, which end the user info of a URL; ${ENCODE}`;
  }
  const host = rest.split(/[/?#]/, 1)[0] ?? '';
  if (host.startsWith('[') && !host.includes(']')) {
    return 'the host opens an IPv6 address with `[` but does not close it: write it as [::1]:5432';
  }
  if (!host.startsWith('[') && host.includes(']')) {
    return 'the host has a `]` without its `[`: write an IPv6 address as [::1]:5432';
  }
  const port = /:([^:\]]*)$/.exec(host)?.[1];
  if (port !== undefined && !/^\d{0,5}$/.test(port)) {
    return 'the port after the host is not a number (a `:` there starts the port)';
  }
  return `not a valid URL: check the host and port; a special character in the user name or password must be percent-encoded: ${ENCODE}`;
}
