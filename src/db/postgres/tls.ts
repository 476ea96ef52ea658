/**
 * TLS for PostgreSQL from the URL, with libpq's meanings (docs/plan.md "TLS"), decided here and not by
 * node-postgres: pg-connection-string gives `sslmode` meanings of its own (require and verify-ca check the
 * certificate and the host name, prefer never falls back), so the TLS parameters are taken out of the URL
 * and pg gets an explicit `ssl` for each connection attempt.
 *
 * - `sslmode`: disable | allow | prefer (the default) | require | verify-ca | verify-full.
 *   allow tries without TLS first and with TLS when the server refuses; prefer tries TLS first and without
 *   it when TLS fails or the server refuses the TLS session. Neither checks the certificate, nor does
 *   require, unless a root certificate is there: then the chain is checked in every mode (libpq's rule that
 *   require with a root certificate acts as verify-ca). verify-ca checks the chain, verify-full the host too.
 * - `sslrootcert` (default `~/.postgresql/root.crt`, used when it exists; `system`: the system's roots, with
 *   verify-full), `sslcert` and `sslkey` (default `~/.postgresql/postgresql.crt` / `.key`, used when the
 *   certificate exists). libpq's environment variables PGSSLMODE, PGSSLROOTCERT, PGSSLCERT and PGSSLKEY
 *   apply when the URL does not say.
 * - Unlike libpq, a file named explicitly must exist (libpq skips a missing one silently below verify-ca),
 *   and TLS parameters this tool does not implement are refused rather than ignored.
 * - Over a Unix socket there is no TLS, as in libpq.
 */
import { readFileSync, type Stats, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import { UsageError } from '../../errors.js';
import { readTlsFile, TLS_HINT } from '../tls-files.js';

const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** One connection attempt: `false` is a plain connection. */
export type Attempt = false | ConnectionOptions;

export interface PostgresTls {
  /** The URL without the TLS parameters, for pg. */
  url: string;
  mode: SslMode;
  /** The connections to try, in order: two for allow and prefer (see fallsBack). */
  attempts: Attempt[];
}

/** The file system as this module uses it (tests pass their own). */
export interface TlsFiles {
  read(path: string): Buffer;
  /** undefined when the path does not exist. */
  stat(path: string): Pick<Stats, 'mode' | 'uid'> | undefined;
  home(): string;
  euid(): number | undefined;
}

const nodeFiles: TlsFiles = {
  read: (path) => readFileSync(path),
  stat: (path) => statSync(path, { throwIfNoEntry: false }),
  home: () => homedir(),
  euid: () => process.geteuid?.(),
};

const PARAMS = ['sslmode', 'sslrootcert', 'sslcert', 'sslkey'] as const;
/** node-postgres' own URL parameters: libpq has no such parameter. */
const PG_ONLY = ['ssl', 'uselibpqcompat'];
/** libpq's TLS parameters this tool does not implement: refused, so that none is silently ignored. */
const UNSUPPORTED = [
  'sslpassword',
  'sslcrl',
  'sslcrldir',
  'sslsni',
  'sslcertmode',
  'sslnegotiation',
  'sslcompression',
  'ssl_min_protocol_version',
  'ssl_max_protocol_version',
  'requiressl',
];
const ENV: Record<(typeof PARAMS)[number], string> = {
  sslmode: 'PGSSLMODE',
  sslrootcert: 'PGSSLROOTCERT',
  sslcert: 'PGSSLCERT',
  sslkey: 'PGSSLKEY',
};
/** Where `sslmode` and friends came from, for messages. */
type Setting = { value: string; from: string } | undefined;

export function postgresTls(
  url: string,
  env: NodeJS.ProcessEnv = process.env,
  files: TlsFiles = nodeFiles,
): PostgresTls {
  const parsed = parseUrl(url);
  const query = parsed?.searchParams;
  for (const name of query?.keys() ?? []) checkParameter(name);
  const setting = (name: (typeof PARAMS)[number]): Setting => {
    const inUrl = query?.get(name);
    if (inUrl !== null && inUrl !== undefined) return { value: inUrl, from: name };
    const inEnv = env[ENV[name]];
    return inEnv ? { value: inEnv, from: ENV[name] } : undefined;
  };
  // Read before the parameters leave the URL.
  const rootcert = setting('sslrootcert');
  const sslcert = setting('sslcert');
  const sslkey = setting('sslkey');
  const mode = sslMode(setting('sslmode'), rootcert);
  let stripped = url;
  if (parsed && query && PARAMS.some((p) => query.has(p))) {
    for (const p of PARAMS) query.delete(p);
    stripped = parsed.toString().replace(`@${DUMMY_HOST}/`, '@/');
  }
  if (mode === 'disable' || (parsed && onUnixSocket(parsed)))
    return { url: stripped, mode, attempts: [false] };
  const options = tlsOptions(mode, rootcert, sslcert, sslkey, files);
  const attempts: Attempt[] =
    mode === 'allow' ? [false, options] : mode === 'prefer' ? [options, false] : [options];
  return { url: stripped, mode, attempts };
}

/**
 * Whether the next attempt follows a failed one, as libpq decides: prefer falls back to a plain connection
 * after anything but an unreachable server (no TLS at the server, a failed handshake, an error from the server
 * over TLS); allow retries with TLS only when the server answered the plain attempt with an error.
 */
export function fallsBack(mode: SslMode, error: unknown): boolean {
  const e = error as { code?: unknown; syscall?: unknown; severity?: unknown; message?: unknown };
  if (mode === 'allow') return typeof e.severity === 'string'; // a server error (pg.DatabaseError)
  if (mode !== 'prefer') return false;
  const unreachable =
    e.syscall === 'connect' ||
    e.syscall === 'getaddrinfo' ||
    (typeof e.message === 'string' && /timeout expired/i.test(e.message));
  return !unreachable;
}

function checkParameter(name: string): void {
  if (PG_ONLY.includes(name)) {
    throw new UsageError(
      `PostgreSQL URL parameter "${name}" is node-postgres' own, not libpq's, and is not accepted`,
      { hint: `use sslmode=disable|allow|prefer|require|verify-ca|verify-full; ${TLS_HINT}` },
    );
  }
  if (UNSUPPORTED.includes(name)) {
    throw new UsageError(`PostgreSQL URL parameter "${name}" is not supported by cache-migrate`, {
      hint: `remove it; supported TLS parameters: ${PARAMS.join(', ')}; ${TLS_HINT}`,
    });
  }
}

function sslMode(setting: Setting, rootcert: Setting): SslMode {
  const system = rootcert?.value === 'system';
  if (!setting) return system ? 'verify-full' : 'prefer';
  const mode = SSL_MODES.find((m) => m === setting.value);
  if (!mode) {
    throw new UsageError(`${setting.from} "${setting.value}" is not a PostgreSQL sslmode`, {
      hint: `use one of ${SSL_MODES.join(', ')}; ${TLS_HINT}`,
    });
  }
  if (system && mode !== 'verify-full') {
    throw new UsageError(`sslmode "${mode}" is too weak for sslrootcert=system`, {
      hint: `use sslmode=verify-full with the system's root certificates (as libpq does); ${TLS_HINT}`,
    });
  }
  return mode;
}

/** pg-connection-string's trick for `postgres://user@/db?host=/socket/dir`, which WHATWG URLs refuse. */
const DUMMY_HOST = 'dummy-host-for-parsing.invalid';

function parseUrl(url: string): URL | undefined {
  for (const text of [url, url.replace('@/', `@${DUMMY_HOST}/`)]) {
    try {
      return new URL(text);
    } catch {
      // next form; pg reports a URL neither reads, and its TLS comes from the environment alone
    }
  }
  return undefined;
}

/** libpq takes a host from the URL's host or its `host` parameter; a path there means a Unix socket. */
function onUnixSocket(url: URL): boolean {
  const host = url.searchParams.get('host') ?? (url.hostname === DUMMY_HOST ? '' : safeDecode(url.hostname));
  return host.startsWith('/');
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function tlsOptions(
  mode: SslMode,
  rootcert: Setting,
  sslcert: Setting,
  sslkey: Setting,
  files: TlsFiles,
): ConnectionOptions {
  const verify = mode === 'verify-ca' || mode === 'verify-full';
  const home = files.home();
  const options: ConnectionOptions = {};
  if (rootcert?.value === 'system') {
    options.rejectUnauthorized = true; // Node's own root certificates
  } else {
    const path = rootcert?.value ?? join(home, '.postgresql', 'root.crt');
    if (files.stat(path)) {
      options.ca = readTlsFile(files.read, `${rootcert?.from ?? 'sslrootcert'} (root certificate)`, path);
      options.rejectUnauthorized = true;
    } else if (rootcert || verify) {
      throw new UsageError(`root certificate file "${path}" does not exist`, {
        hint: rootcert
          ? `fix ${rootcert.from}, or leave it out; ${TLS_HINT}`
          : `sslmode=${mode} checks the server's certificate: name the CA with sslrootcert=/path/ca.pem ` +
            `(or sslrootcert=system with verify-full), or use sslmode=require; ${TLS_HINT}`,
      });
    } else {
      options.rejectUnauthorized = false;
    }
  }
  if (mode !== 'verify-full') options.checkServerIdentity = () => undefined;
  Object.assign(options, clientCertificate(sslcert, sslkey, home, files));
  return options;
}

function clientCertificate(sslcert: Setting, sslkey: Setting, home: string, files: TlsFiles) {
  const certPath = sslcert?.value ?? join(home, '.postgresql', 'postgresql.crt');
  if (!files.stat(certPath)) {
    if (sslcert)
      throw new UsageError(`client certificate file "${certPath}" does not exist`, { hint: TLS_HINT });
    if (sslkey) {
      throw new UsageError(`${sslkey.from} is set but there is no client certificate`, {
        hint: `name the certificate with sslcert=/path/client.pem; ${TLS_HINT}`,
      });
    }
    return {};
  }
  const keyPath = sslkey?.value ?? join(home, '.postgresql', 'postgresql.key');
  const keyStat = files.stat(keyPath);
  if (!keyStat) {
    throw new UsageError(`certificate present, but not private key file "${keyPath}"`, {
      hint: `name the key with sslkey=/path/client.key; ${TLS_HINT}`,
    });
  }
  checkKeyMode(keyPath, keyStat, files.euid());
  return {
    cert: readTlsFile(files.read, `${sslcert?.from ?? 'sslcert'} (client certificate)`, certPath),
    key: readTlsFile(files.read, `${sslkey?.from ?? 'sslkey'} (client key)`, keyPath),
  };
}

/** libpq's rule: a private key readable by others is refused. */
function checkKeyMode(path: string, stat: Pick<Stats, 'mode' | 'uid'>, euid: number | undefined): void {
  const open =
    euid === undefined || stat.uid === euid
      ? (stat.mode & 0o077) !== 0 // owned by the user: u=rw (0600) at most
      : (stat.mode & 0o037) !== 0; // owned by another user (root): u=rw,g=r (0640) at most
  if (open) {
    throw new UsageError(`private key file "${path}" has group or world access`, {
      hint: `chmod 0600 it (0640 when owned by root), as libpq requires; ${TLS_HINT}`,
    });
  }
}
