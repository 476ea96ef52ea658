/**
 * TLS for MySQL/MariaDB from the URL, in the style of the mysql client's `--ssl-mode`:
 * `?ssl-mode=DISABLED|PREFERRED|REQUIRED|VERIFY_CA|VERIFY_IDENTITY` (also `sslmode=disable|require|
 * verify-ca|verify-full`, PostgreSQL's spelling), with `ssl-ca=/path/ca.pem` (also `sslrootcert`),
 * `ssl-cert`/`ssl-key` for a client certificate. REQUIRED encrypts without checking the certificate;
 * VERIFY_CA checks it against the CA; VERIFY_IDENTITY also checks the host name. The parameters are taken
 * out of the URL before it reaches mysql2 (which would not understand them).
 */
import { readFileSync } from 'node:fs';
import type { SslOptions } from 'mysql2';

export interface MysqlTls {
  /** The URL without the TLS parameters. */
  uri: string;
  ssl?: SslOptions;
}

const MODE_ALIASES: Record<string, string> = {
  disable: 'DISABLED',
  disabled: 'DISABLED',
  prefer: 'PREFERRED',
  preferred: 'PREFERRED',
  require: 'REQUIRED',
  required: 'REQUIRED',
  'verify-ca': 'VERIFY_CA',
  verify_ca: 'VERIFY_CA',
  'verify-full': 'VERIFY_IDENTITY',
  verify_identity: 'VERIFY_IDENTITY',
};

const PARAMS = ['ssl-mode', 'sslmode', 'ssl-ca', 'sslrootcert', 'ssl-cert', 'sslcert', 'ssl-key', 'sslkey'];

export function mysqlTls(url: string, read: (path: string) => Buffer = readFileSync): MysqlTls {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { uri: url };
  }
  const q = parsed.searchParams;
  const get = (...names: string[]) => names.map((n) => q.get(n)).find((v) => v !== null) ?? undefined;
  const rawMode = get('ssl-mode', 'sslmode');
  const ca = get('ssl-ca', 'sslrootcert');
  const cert = get('ssl-cert', 'sslcert');
  const key = get('ssl-key', 'sslkey');
  if (rawMode === undefined && ca === undefined && cert === undefined && key === undefined)
    return { uri: url };
  for (const p of PARAMS) q.delete(p);
  const uri = parsed.toString();
  const mode =
    rawMode === undefined ? 'VERIFY_CA' : (MODE_ALIASES[rawMode.toLowerCase()] ?? rawMode.toUpperCase());
  if (!['DISABLED', 'PREFERRED', 'REQUIRED', 'VERIFY_CA', 'VERIFY_IDENTITY'].includes(mode)) {
    throw new Error(
      `unknown ssl-mode "${rawMode}": use DISABLED, PREFERRED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY`,
    );
  }
  // mysql2 cannot fall back from TLS to plain text, so PREFERRED connects without TLS (as DISABLED).
  if (mode === 'DISABLED' || mode === 'PREFERRED') return { uri };
  const files = {
    ...(ca ? { ca: read(ca) } : {}),
    ...(cert ? { cert: read(cert) } : {}),
    ...(key ? { key: read(key) } : {}),
  };
  if (mode === 'REQUIRED') return { uri, ssl: { ...files, rejectUnauthorized: false } };
  return { uri, ssl: { ...files, rejectUnauthorized: true, verifyIdentity: mode === 'VERIFY_IDENTITY' } };
}
