/**
 * Secrets: every way one enters this program, and the masks for everything it prints or writes.
 *
 * A secret arrives in the plan's values, after `${ENV}` interpolation:
 * - the password of a URL's user info: `postgres://app:secret@db/shop` (as written and percent-decoded);
 * - a password-like query parameter of either driver: `?password=`, libpq's `sslpassword`, mysql2's
 *   `password1`..`password3`: any parameter whose name holds `pass`, `secret` or `token`;
 * - a libpq `key=value` string (`host=db password=secret`) or a URL without its scheme
 *   (`app:secret@db:5432/shop`): the plan refuses both, and must not echo them while refusing;
 * - `cache.password` (SASL PLAIN), and any plan value under a password-like key (`isSecretKey`).
 * `maskUrl` masks one connection string for display; `rememberSecret` notes a secret in the forms it can take
 * in output (percent-encoded and decoded, JSON-escaped, base64); `redact` masks connection strings and every
 * noted secret in any text. The CLI passes all it writes through `redact` (cli/output/redact-output.ts).
 */

const SECRET_NAME = /pass|secret|token/i;

/**
 * Secrets shorter than this are masked where they stand in a connection string, but not searched for in
 * free text: a short password would match ordinary words of the output.
 */
const MIN_FREE_TEXT_SECRET = 8;

/** A query parameter or libpq keyword that holds a secret. */
function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/**
 * A plan key whose value is a secret: `password`, `passwd`, anything with `secret` or `token`. Narrower
 * than `isSecretName`: a column mapping such as `passenger_count: pax` is not a secret.
 */
export function isSecretKey(key: string): boolean {
  return /pass(word|wd)?$|secret|token/i.test(key);
}

/*
 * The shapes of a connection string, defined here only (the plan's URL check and its secret collection ask
 * the functions below): a URL with its scheme, a libpq `key=value` string, a URL without its scheme.
 */
const SCHEME = /^([a-z][a-z0-9+.-]*:\/\/)/i;
/** A libpq `key=value` string starts with a keyword and `=`. */
const KEY_VALUE_START = /^\s*[a-z_][a-z0-9_]*\s*=/i;
/** `key = value` pairs of a libpq string; values may be single-quoted with backslash escapes. */
const KEY_VALUE = /([a-z_][a-z0-9_]*)(\s*=\s*)('(?:[^'\\]|\\.)*'?|[^\s']*)/gi;
/** A URL without its scheme: `user:password@host…`; the password runs to the last `@`. */
const SCHEMELESS = /^([^\s:/@]+):(.*)@([^@]*)$/s;
/** A URL without its scheme or a password: `user@host…`. */
const SCHEMELESS_USER = /^[^\s:/@]+@\S/;

/** A URL with its scheme: `postgres://…`, `mysql://…`, whatever the scheme. */
export function isSchemeUrl(text: string): boolean {
  return SCHEME.test(text);
}

/** A libpq `key=value` connection string: `host=db password=secret`. */
export function isKeyValueString(text: string): boolean {
  return KEY_VALUE_START.test(text);
}

/** A URL written without its scheme, `app:secret@db:5432/shop` or `app@db/shop` (ask isSchemeUrl first). */
export function isSchemelessUrl(text: string): boolean {
  return SCHEMELESS.test(text) || SCHEMELESS_USER.test(text);
}

/**
 * The parts of a `scheme://userinfo@rest` string, split the way that keeps a password whole: the user
 * info runs to the LAST `@` (an unencoded `@`, `/`, `?` or `#` in a password stays inside it).
 */
export interface UrlParts {
  scheme: string;
  /** Up to the last `@`, or undefined when there is no `@`. */
  userInfo: string | undefined;
  /** Everything after the user info's `@` (or after `//`). */
  rest: string;
}

export function splitUrl(text: string): UrlParts | undefined {
  const scheme = SCHEME.exec(text)?.[1];
  if (scheme === undefined) return undefined;
  const body = text.slice(scheme.length);
  const at = body.lastIndexOf('@');
  if (at < 0) return { scheme, userInfo: undefined, rest: body };
  return { scheme, userInfo: body.slice(0, at), rest: body.slice(at + 1) };
}

/** `?password=x&sslpassword=y` → `?password=***&sslpassword=***`. */
function maskQuery(text: string): string {
  return text.replace(/([?&][^=&#\s"]*(?:pass|secret|token)[^=&#\s"]*=)[^&#\s"]*/gi, '$1***');
}

function maskKeyValues(text: string): string {
  return text.replace(KEY_VALUE, (whole, key: string, eq: string) =>
    isSecretName(key) ? `${key}${eq}***` : whole,
  );
}

/**
 * A connection string for display: the user info's password, password-like query parameters and libpq
 * `password=` values become `***`: `postgres://app:pw@db/shop?sslpassword=k` becomes
 * `postgres://app:***@db/shop?sslpassword=***`.
 */
export function maskUrl(text: string): string {
  const parts = splitUrl(text);
  if (parts) {
    let userInfo = '';
    if (parts.userInfo !== undefined) {
      const colon = parts.userInfo.indexOf(':');
      userInfo = `${colon < 0 ? parts.userInfo : `${parts.userInfo.slice(0, colon)}:***`}@`;
    }
    return `${parts.scheme}${userInfo}${maskQuery(parts.rest)}`;
  }
  if (isKeyValueString(text)) return maskKeyValues(text);
  const schemeless = SCHEMELESS.exec(text);
  if (schemeless) return `${schemeless[1]}:***@${maskQuery(schemeless[3] ?? '')}`;
  return maskQuery(text);
}

/** The secrets a connection string carries, in every form listed at the top of this file. */
export function secretsIn(text: string): string[] {
  const found: string[] = [];
  const parts = splitUrl(text);
  const userInfo = parts ? parts.userInfo : SCHEMELESS.exec(text)?.slice(1, 3).join(':');
  if (userInfo !== undefined) {
    const colon = userInfo.indexOf(':');
    if (colon >= 0) found.push(userInfo.slice(colon + 1));
    try {
      const password = new URL(text).password;
      if (password) found.push(password);
    } catch {
      // an unparsable URL: the password as written is all there is
    }
  }
  for (const m of text.matchAll(/[?&]([^=&#\s]*)=([^&#\s]*)/g)) {
    if (isSecretName(m[1] ?? '') && m[2]) found.push(m[2], m[2].replace(/\+/g, ' '));
  }
  if (!parts && isKeyValueString(text)) {
    for (const m of text.matchAll(KEY_VALUE)) {
      const value = m[3] ?? '';
      if (!isSecretName(m[1] ?? '') || !value) continue;
      found.push(value);
      if (value.startsWith("'")) found.push(value.replace(/^'|'$/g, '').replace(/\\(.)/g, '$1'));
    }
  }
  return found.filter((s) => s.length > 0);
}

const known = new Set<string>();
/** Longest first, so a secret that contains another is masked whole. */
let ordered: string[] = [];

/** Notes a secret for `redact`, in the forms it can take in output. */
export function rememberSecret(secret: string): void {
  const plain = decodeOr(secret);
  if (plain.length < MIN_FREE_TEXT_SECRET && secret.length < MIN_FREE_TEXT_SECRET) return;
  const forms = new Set<string>();
  for (const s of [secret, plain]) {
    forms.add(s);
    forms.add(encodeURIComponent(s));
    forms.add(JSON.stringify(s).slice(1, -1));
    forms.add(Buffer.from(s).toString('base64'));
    forms.add(Buffer.from(s).toString('base64').replace(/=+$/, ''));
  }
  let added = false;
  for (const form of forms) {
    if (form.length >= MIN_FREE_TEXT_SECRET && !known.has(form)) {
      known.add(form);
      added = true;
    }
  }
  if (added) ordered = [...known].sort((a, b) => b.length - a.length);
}

/** `text` percent-decoded, or as it is when it is no valid percent-encoding. */
export function decodeOr(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** URL user info in free text: `scheme://user:password@`; the password stops at a quote or space. */
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@"'`]*):(?!\*\*\*@)[^\s@"'`]*@/gi;
const TEXT_QUERY = /([?&][^=&#\s"]*(?:pass|secret|token)[^=&#\s"]*=)(?!\*\*\*)[^&#\s"'`]*/gi;
const TEXT_KEY_VALUE = /\b([a-z_]*pass(?:word|wd)?)(\s*=\s*)(?!\*\*\*)('(?:[^'\\]|\\.)*'?|[^\s'"&]+)/gi;

/** Any text with its connection-string passwords and every noted secret masked as `***`. */
export function redact(text: string): string {
  let out = text;
  if (out.includes('://')) out = out.replace(URL_PASSWORD, '$1:***@');
  if (/pass|secret|token/i.test(out))
    out = out.replace(TEXT_QUERY, '$1***').replace(TEXT_KEY_VALUE, '$1$2***');
  for (const secret of ordered) if (out.includes(secret)) out = out.split(secret).join('***');
  return out;
}
