import { describe, expect, it } from 'vitest';
import { mysqlTls } from '../../src/db/mysql/tls.js';

const files = (path: string) => Buffer.from(`contents of ${path}`);

describe('MySQL TLS options from the URL', () => {
  it('leaves a URL without TLS parameters alone', () => {
    expect(mysqlTls('mysql://u:p@h:3306/db', files)).toEqual({ uri: 'mysql://u:p@h:3306/db' });
  });

  it('REQUIRED encrypts without checking the certificate, and the parameter leaves the URL', () => {
    const t = mysqlTls('mysql://u:p@h:3306/db?ssl-mode=REQUIRED&charset=x', files);
    expect(t.uri).toBe('mysql://u:p@h:3306/db?charset=x');
    expect(t.ssl).toEqual({ rejectUnauthorized: false });
  });

  it('VERIFY_CA reads the CA and checks the chain but not the host name; verify-full checks both', () => {
    const ca = mysqlTls('mysql://u:p@h/db?sslmode=verify-ca&sslrootcert=/etc/ca.pem', files);
    expect(ca.ssl?.ca).toEqual(Buffer.from('contents of /etc/ca.pem'));
    expect(ca.ssl?.rejectUnauthorized).toBe(true);
    expect(ca.ssl?.verifyIdentity).toBe(false);
    const full = mysqlTls(
      'mysql://u:p@h/db?ssl-mode=VERIFY_IDENTITY&ssl-ca=/ca&ssl-cert=/c&ssl-key=/k',
      files,
    );
    expect(full.ssl).toEqual({
      ca: Buffer.from('contents of /ca'),
      cert: Buffer.from('contents of /c'),
      key: Buffer.from('contents of /k'),
      rejectUnauthorized: true,
      verifyIdentity: true,
    });
    expect(full.uri).toBe('mysql://u:p@h/db');
  });

  it('DISABLED and PREFERRED connect without TLS; an unknown mode is an error naming it', () => {
    expect(mysqlTls('mysql://h/db?ssl-mode=DISABLED', files)).toEqual({ uri: 'mysql://h/db' });
    expect(mysqlTls('mysql://h/db?sslmode=prefer', files)).toEqual({ uri: 'mysql://h/db' });
    expect(() => mysqlTls('mysql://h/db?ssl-mode=SOMETIMES', files)).toThrow(/unknown ssl-mode "SOMETIMES"/);
  });
});
