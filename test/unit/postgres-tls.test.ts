import type { ConnectionOptions } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { fallsBack, postgresTls, type TlsFiles } from '../../src/db/postgres/tls.js';
import { ExitCode, UsageError } from '../../src/errors.js';

/** A file system of these files (path -> mode), owned by uid 1000, the current user; home is /home/u. */
function fakeFiles(modes: Record<string, number>): TlsFiles {
  return {
    read: (path) => Buffer.from(`contents of ${path}`),
    stat: (path) => (path in modes ? { mode: 0o100000 | (modes[path] as number), uid: 1000 } : undefined),
    home: () => '/home/u',
    euid: () => 1000,
  };
}
const none = fakeFiles({});
const URL_BASE = 'postgres://u:p@db.example:5432/shop';

function tls(query: string, files = none, env: NodeJS.ProcessEnv = {}) {
  return postgresTls(`${URL_BASE}${query}`, env, files);
}
function options(query: string, files = none, env: NodeJS.ProcessEnv = {}): ConnectionOptions {
  const found = tls(query, files, env).attempts.find((a) => a !== false);
  if (!found) throw new Error('no TLS attempt');
  return found;
}
function usageError(run: () => unknown): UsageError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).exitCode).toBe(ExitCode.usage);
    return error as UsageError;
  }
  throw new Error('expected a UsageError');
}

describe('PostgreSQL sslmode, as libpq means it', () => {
  it('defaults to prefer: TLS first without checks, then plain; the TLS parameters leave the URL', () => {
    const t = tls('?sslmode=prefer&application_name=x');
    expect(t.url).toBe(`${URL_BASE}?application_name=x`);
    expect(t.mode).toBe('prefer');
    expect(t.attempts).toHaveLength(2);
    expect(t.attempts[0]).toMatchObject({ rejectUnauthorized: false });
    expect(t.attempts[1]).toBe(false);
    expect(tls('').mode).toBe('prefer');
  });

  it('disable is plain only, allow is plain then TLS, require is TLS only without checks', () => {
    expect(tls('?sslmode=disable').attempts).toEqual([false]);
    const allow = tls('?sslmode=allow').attempts;
    expect(allow[0]).toBe(false);
    expect(allow[1]).toMatchObject({ rejectUnauthorized: false });
    const require = tls('?sslmode=require').attempts;
    expect(require).toHaveLength(1);
    expect(require[0]).toMatchObject({ rejectUnauthorized: false });
  });

  it('a root certificate makes require (and prefer, allow) check the chain but not the host name', () => {
    const ca = '/etc/ca.pem';
    const require = options(`?sslmode=require&sslrootcert=${ca}`, fakeFiles({ [ca]: 0o644 }));
    expect(require.rejectUnauthorized).toBe(true);
    expect(require.ca).toEqual(Buffer.from(`contents of ${ca}`));
    // A check that accepts any host (not Node's default one, which would refuse other.example).
    expect(require.checkServerIdentity).toBeTypeOf('function');
    expect(require.checkServerIdentity!('other.example', {} as never)).toBeUndefined();
    // libpq's default location counts too
    const home = fakeFiles({ '/home/u/.postgresql/root.crt': 0o644 });
    expect(options('?sslmode=require', home).rejectUnauthorized).toBe(true);
    expect(options('?sslmode=prefer', home).rejectUnauthorized).toBe(true);
  });

  it('verify-ca checks the chain only; verify-full leaves the host name check to TLS', () => {
    const files = fakeFiles({ '/ca.pem': 0o644 });
    const ca = options('?sslmode=verify-ca&sslrootcert=/ca.pem', files);
    expect(ca).toMatchObject({ rejectUnauthorized: true });
    expect(ca.checkServerIdentity).toBeTypeOf('function');
    const full = options('?sslmode=verify-full&sslrootcert=/ca.pem', files);
    expect(full).toMatchObject({ rejectUnauthorized: true });
    expect(full.checkServerIdentity).toBeUndefined();
  });

  it('verify-ca and verify-full without a root certificate, or a named file that is missing, exit 2', () => {
    expect(usageError(() => tls('?sslmode=verify-ca')).message).toMatch(
      /root certificate file "\/home\/u\/\.postgresql\/root\.crt" does not exist/,
    );
    expect(usageError(() => tls('?sslmode=require&sslrootcert=/typo.pem')).message).toMatch(/typo\.pem/);
    expect(usageError(() => tls('?sslmode=require&sslcert=/nope.pem')).message).toMatch(/nope\.pem/);
  });

  it('sslrootcert=system means the system roots and verify-full; a weaker mode exits 2', () => {
    const t = tls('?sslrootcert=system');
    expect(t.mode).toBe('verify-full');
    expect(t.attempts).toEqual([{ rejectUnauthorized: true }]);
    expect(usageError(() => tls('?sslmode=require&sslrootcert=system')).message).toMatch(/too weak/);
  });

  it('a client certificate goes with its key; a key others can read is refused', () => {
    const files = fakeFiles({ '/c.pem': 0o644, '/c.key': 0o600, '/open.key': 0o644 });
    expect(options('?sslmode=require&sslcert=/c.pem&sslkey=/c.key', files)).toMatchObject({
      cert: Buffer.from('contents of /c.pem'),
      key: Buffer.from('contents of /c.key'),
    });
    expect(usageError(() => tls('?sslcert=/c.pem&sslkey=/open.key', files)).message).toMatch(
      /group or world access/,
    );
    expect(usageError(() => tls('?sslcert=/c.pem&sslkey=/none.key', files)).message).toMatch(
      /not private key file/,
    );
  });

  it('PGSSLMODE and friends apply when the URL does not say', () => {
    expect(tls('', none, { PGSSLMODE: 'disable' }).attempts).toEqual([false]);
    expect(tls('?sslmode=require', none, { PGSSLMODE: 'disable' }).mode).toBe('require');
    expect(usageError(() => tls('', none, { PGSSLMODE: 'sometimes' })).message).toMatch(
      /PGSSLMODE "sometimes" is not a PostgreSQL sslmode/,
    );
  });

  it("refuses node-postgres' own parameters, unsupported ones and unknown modes with exit 2", () => {
    expect(usageError(() => tls('?ssl=true')).message).toMatch(/node-postgres' own/);
    expect(usageError(() => tls('?uselibpqcompat=true')).message).toMatch(/node-postgres' own/);
    expect(usageError(() => tls('?sslpassword=x')).message).toMatch(/not supported/);
    expect(usageError(() => tls('?sslmode=no-verify')).message).toMatch(
      /"no-verify" is not a PostgreSQL sslmode/,
    );
  });

  it('has no TLS over a Unix socket', () => {
    expect(
      postgresTls('postgres://u@%2Fvar%2Frun%2Fpostgresql/db?sslmode=require', {}, none).attempts,
    ).toEqual([false]);
    expect(postgresTls('postgres://u@/db?host=/tmp', {}, none).attempts).toEqual([false]);
  });

  it('falls back as libpq does: prefer after a failed TLS session, allow after a server error', () => {
    const serverError = Object.assign(new Error('pg_hba.conf rejects connection'), { severity: 'FATAL' });
    const handshake = Object.assign(new Error('self-signed certificate'), {
      code: 'SELF_SIGNED_CERT_IN_CHAIN',
    });
    const noTls = new Error('The server does not support SSL connections');
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { syscall: 'connect' });
    expect(fallsBack('prefer', handshake)).toBe(true);
    expect(fallsBack('prefer', noTls)).toBe(true);
    expect(fallsBack('prefer', serverError)).toBe(true);
    expect(fallsBack('prefer', refused)).toBe(false);
    expect(fallsBack('prefer', new Error('timeout expired'))).toBe(false);
    expect(fallsBack('allow', serverError)).toBe(true);
    expect(fallsBack('allow', refused)).toBe(false);
    expect(fallsBack('require', handshake)).toBe(false);
  });
});
