/**
 * The offline half of the TLS rules (docs/plan.md "TLS"): a database URL's TLS parameters checked without
 * reading any file or the environment, so that `validate --offline` finds an unknown sslmode or a CA given
 * with a mode that does not check it. Files are read, and their absence reported, when connecting.
 */
import { UsageError } from '../errors.js';
import { maskUrl } from '../secrets.js';
import { mysqlTls } from './mysql/tls.js';
import { postgresTls, type TlsFiles } from './postgres/tls.js';

/** Every file exists, readable by its owner only. */
const anyFile: TlsFiles = {
  read: () => Buffer.alloc(0),
  stat: () => ({ mode: 0o100600, uid: 0 }),
  home: () => '/',
  euid: () => 0,
};

/** What is wrong with the URL's TLS parameters (with what to do), or undefined. */
export function tlsProblem(url: string): string | undefined {
  const scheme = url.slice(0, url.indexOf(':')).toLowerCase();
  try {
    if (scheme === 'postgres' || scheme === 'postgresql') postgresTls(url, {}, anyFile);
    else if (scheme === 'mysql' || scheme === 'mariadb') mysqlTls(url, () => Buffer.alloc(0));
    return undefined;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    return error.hint ? `${error.message}: ${error.hint}` : error.message;
  }
}

/** Runs a dialect's TLS parsing; a mistake found is said with the (masked) URL it is in. */
export function withUrl<T>(url: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    throw new UsageError(`${maskUrl(url)}: ${error.message}`, {
      cause: error,
      ...(error.hint ? { hint: error.hint } : {}),
    });
  }
}
