import { describe, expect, it } from 'vitest';
import { fallsBack, mysqlTls } from '../../src/db/mysql/tls.js';
import { ExitCode, UsageError } from '../../src/errors.js';

const files = (path: string) => Buffer.from(`contents of ${path}`);

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

describe('MySQL ssl-mode, as the mysql client means it', () => {
  it('defaults to PREFERRED: TLS without checks, plain when the server offers no TLS', () => {
    const t = mysqlTls('mysql://u:p@h:3306/db', files);
    expect(t).toEqual({
      uri: 'mysql://u:p@h:3306/db',
      mode: 'PREFERRED',
      ssl: { rejectUnauthorized: false },
    });
    expect(fallsBack('PREFERRED', { code: 'HANDSHAKE_NO_SSL_SUPPORT' })).toBe(true);
    expect(fallsBack('PREFERRED', { code: 'HANDSHAKE_SSL_ERROR' })).toBe(false);
    expect(fallsBack('REQUIRED', { code: 'HANDSHAKE_NO_SSL_SUPPORT' })).toBe(false);
  });

  it('REQUIRED encrypts without checking the certificate, and the parameter leaves the URL', () => {
    const t = mysqlTls('mysql://u:p@h:3306/db?ssl-mode=REQUIRED&charset=x', files);
    expect(t.uri).toBe('mysql://u:p@h:3306/db?charset=x');
    expect(t.ssl).toEqual({ rejectUnauthorized: false });
  });

  it('VERIFY_CA checks the chain but not the host name; VERIFY_IDENTITY checks both, by the URL host', () => {
    const ca = mysqlTls('mysql://u:p@h/db?sslmode=verify-ca&sslrootcert=/etc/ca.pem', files);
    expect(ca.ssl).toEqual({
      ca: Buffer.from('contents of /etc/ca.pem'),
      rejectUnauthorized: true,
      verifyIdentity: false,
    });
    expect(ca.checkHost).toBeUndefined();
    const full = mysqlTls(
      'mysql://u:p@127.0.0.1/db?ssl-mode=VERIFY_IDENTITY&ssl-ca=/ca&ssl-cert=/c&ssl-key=/k',
      files,
    );
    expect(full.ssl).toEqual({
      ca: Buffer.from('contents of /ca'),
      cert: Buffer.from('contents of /c'),
      key: Buffer.from('contents of /k'),
      rejectUnauthorized: true,
      verifyIdentity: true,
    });
    expect(full.checkHost).toBe('127.0.0.1');
    expect(full.uri).toBe('mysql://u:p@127.0.0.1/db');
    expect(mysqlTls('mysql://u@[::1]/db?ssl-mode=VERIFY_IDENTITY&ssl-ca=/ca', files).checkHost).toBe('::1');
  });

  it('a CA without ssl-mode means VERIFY_CA, as in the mysql client', () => {
    expect(mysqlTls('mysql://h/db?ssl-ca=/ca', files).mode).toBe('VERIFY_CA');
  });

  it('DISABLED connects without TLS', () => {
    expect(mysqlTls('mysql://h/db?ssl-mode=DISABLED', files)).toEqual({
      uri: 'mysql://h/db',
      mode: 'DISABLED',
    });
  });

  it('refuses with exit 2 what the mysql client only warns about or cannot do', () => {
    expect(usageError(() => mysqlTls('mysql://h/db?ssl-mode=REQUIRED&ssl-ca=/ca', files)).message).toMatch(
      /ssl-ca is set but ssl-mode=REQUIRED does not check certificates/,
    );
    expect(usageError(() => mysqlTls('mysql://h/db?ssl-mode=VERIFY_CA', files)).message).toMatch(
      /needs the CA/,
    );
    expect(usageError(() => mysqlTls('mysql://h/db?ssl-cert=/c', files)).message).toMatch(/needs ssl-key/);
    expect(usageError(() => mysqlTls('mysql://h/db?ssl-mode=SOMETIMES', files)).message).toMatch(
      /unknown ssl-mode "SOMETIMES"/,
    );
    expect(
      usageError(() => mysqlTls('mysql://h/db?ssl={"rejectUnauthorized":false}', files)).message,
    ).toMatch(/"ssl" is not accepted/);
    const unreadable = () => {
      throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
    };
    expect(usageError(() => mysqlTls('mysql://h/db?ssl-ca=/nope.pem', unreadable)).message).toMatch(
      /cannot read ssl-ca "\/nope\.pem" \(ENOENT\)/,
    );
  });
});
