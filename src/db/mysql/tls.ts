/**
 * TLS for MySQL/MariaDB from the URL, with the mysql client's `--ssl-mode` meanings (docs/plan.md "TLS"):
 * `?ssl-mode=DISABLED|PREFERRED|REQUIRED|VERIFY_CA|VERIFY_IDENTITY` with `ssl-ca=/path/ca.pem`, and
 * `ssl-cert`/`ssl-key` for a client certificate (PostgreSQL's spellings `sslmode=disable|prefer|require|
 * verify-ca|verify-full`, `sslrootcert`, `sslcert`, `sslkey` are accepted too, with MySQL's meanings).
 * - PREFERRED (the default): TLS when the server offers it, plain otherwise; the certificate is not checked.
 * - REQUIRED: TLS or no connection; the certificate is not checked.
 * - VERIFY_CA: the certificate chain is checked against ssl-ca; VERIFY_IDENTITY checks the host name too.
 * - `ssl-ca` without `ssl-mode` means VERIFY_CA, as in the mysql client.
 * Where the mysql client only warns, this refuses (exit 2): a CA with a mode that does not check it, and
 * VERIFY_CA/VERIFY_IDENTITY without a CA. The parameters are taken out of the URL before it reaches mysql2,
 * and mysql2's own `ssl` URL parameter is refused, so that these rules alone decide.
 */
import { readFileSync } from 'node:fs';
import type { SslOptions } from 'mysql2';
import { UsageError } from '../../errors.js';
import { readTlsFile, TLS_HINT } from '../tls-files.js';

const SSL_MODES = ['DISABLED', 'PREFERRED', 'REQUIRED', 'VERIFY_CA', 'VERIFY_IDENTITY'] as const;
export type SslMode = (typeof SSL_MODES)[number];

export interface MysqlTls {
  /** The URL without the TLS parameters. */
  uri: string;
  mode: SslMode;
  /** undefined: a plain connection. PREFERRED falls back to one when the server has no TLS (fallsBack). */
  ssl?: SslOptions;
  /** VERIFY_IDENTITY: the host the certificate must name (see host-check.ts). */
  checkHost?: string;
}

const MODE_ALIASES: Record<string, SslMode> = {
  disable: 'DISABLED',
  prefer: 'PREFERRED',
  require: 'REQUIRED',
  'verify-ca': 'VERIFY_CA',
  'verify-full': 'VERIFY_IDENTITY',
};

const PARAMS = {
  mode: ['ssl-mode', 'sslmode'],
  ca: ['ssl-ca', 'sslrootcert'],
  cert: ['ssl-cert', 'sslcert'],
  key: ['ssl-key', 'sslkey'],
} as const;
/** A parameter as written (which spelling, what value), or undefined when absent. */
type Param = { name: string; value: string } | undefined;

export function mysqlTls(url: string, read: (path: string) => Buffer = readFileSync): MysqlTls {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { uri: url, mode: 'PREFERRED', ssl: { rejectUnauthorized: false } };
  }
  const q = parsed.searchParams;
  if (q.has('ssl')) {
    throw new UsageError('MySQL URL parameter "ssl" is not accepted', {
      hint: `use ssl-mode=DISABLED|PREFERRED|REQUIRED|VERIFY_CA|VERIFY_IDENTITY and ssl-ca; ${TLS_HINT}`,
    });
  }
  const get = (names: readonly string[]): Param => {
    const name = names.find((n) => q.has(n));
    return name === undefined ? undefined : { name, value: q.get(name) ?? '' };
  };
  const rawMode = get(PARAMS.mode);
  const ca = get(PARAMS.ca);
  const cert = get(PARAMS.cert);
  const key = get(PARAMS.key);
  let uri = url;
  if (rawMode || ca || cert || key) {
    for (const names of Object.values(PARAMS)) for (const n of names) q.delete(n);
    uri = parsed.toString();
  }
  const mode = rawMode ? modeOf(rawMode) : ca ? 'VERIFY_CA' : 'PREFERRED';
  const verify = mode === 'VERIFY_CA' || mode === 'VERIFY_IDENTITY';
  checkCombination(mode, rawMode, ca, cert, key);
  if (mode === 'DISABLED') return { uri, mode };
  const files = {
    ...(ca ? { ca: readTlsFile(read, ca.name, ca.value) } : {}),
    ...(cert ? { cert: readTlsFile(read, cert.name, cert.value) } : {}),
    ...(key ? { key: readTlsFile(read, key.name, key.value) } : {}),
  };
  if (!verify) return { uri, mode, ssl: { ...files, rejectUnauthorized: false } };
  const ssl = { ...files, rejectUnauthorized: true, verifyIdentity: mode === 'VERIFY_IDENTITY' };
  if (mode === 'VERIFY_CA') return { uri, mode, ssl };
  return { uri, mode, ssl, checkHost: parsed.hostname.replace(/^\[(.*)\]$/, '$1') };
}

/** Refuses what the mysql client refuses, and what it only warns about (see the top of this file). */
function checkCombination(mode: SslMode, rawMode: Param, ca: Param, cert: Param, key: Param): void {
  const verify = mode === 'VERIFY_CA' || mode === 'VERIFY_IDENTITY';
  if (ca && !verify) {
    throw new UsageError(
      `${ca.name} is set but ${rawMode?.name}=${rawMode?.value} does not check certificates`,
      {
        hint: `use ssl-mode=VERIFY_CA (or VERIFY_IDENTITY to check the host name too), or leave out ${ca.name}; ${TLS_HINT}`,
      },
    );
  }
  if (verify && !ca) {
    throw new UsageError(`ssl-mode ${mode} needs the CA certificate: add ssl-ca=/path/ca.pem`, {
      hint: TLS_HINT,
    });
  }
  if (cert && !key)
    throw new UsageError(`${cert.name} needs ssl-key too (its private key)`, { hint: TLS_HINT });
  if (key && !cert)
    throw new UsageError(`${key.name} needs ssl-cert too (the client certificate)`, { hint: TLS_HINT });
  if (cert && mode === 'DISABLED') {
    throw new UsageError(`${cert.name} needs TLS, but ssl-mode is DISABLED`, { hint: TLS_HINT });
  }
}

/** PREFERRED connects without TLS when the server does not offer it (mysql2 says so by this code). */
export function fallsBack(mode: SslMode, error: unknown): boolean {
  return mode === 'PREFERRED' && (error as { code?: unknown }).code === 'HANDSHAKE_NO_SSL_SUPPORT';
}

function modeOf(raw: NonNullable<Param>): SslMode {
  const mode = MODE_ALIASES[raw.value] ?? SSL_MODES.find((m) => m === raw.value.toUpperCase());
  if (!mode) {
    throw new UsageError(`unknown ${raw.name} "${raw.value}"`, {
      hint: `use DISABLED, PREFERRED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY; ${TLS_HINT}`,
    });
  }
  return mode;
}
