// Every sslmode of PostgreSQL (libpq's meanings) and ssl-mode of MySQL against real servers whose certificate
// is signed by a test CA and names `localhost` only: 127.0.0.1 fails a host name check, other-ca.pem is the
// wrong CA. migrate_tls is refused without TLS; migrate_cert logs in with the client certificate alone.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RowDataPacket } from 'mysql2';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { connectMysql } from '../../src/db/mysql/connect.js';
import { connectPostgres } from '../../src/db/postgres/connect.js';
import { ConnectionError } from '../../src/errors.js';
import { testServers } from '../helpers/env.js';
import { startTlsServers, type TlsServers } from '../helpers/tls-servers.js';

let servers: TlsServers;
const home = mkdtempSync(join(tmpdir(), 'tls-home-'));
beforeAll(async () => {
  // libpq's defaults (~/.postgresql/root.crt, PGSSL*) would turn require into verify-ca against this
  // machine's own CA: the cases below name every file themselves.
  vi.stubEnv('HOME', home);
  for (const name of ['PGSSLMODE', 'PGSSLROOTCERT', 'PGSSLCERT', 'PGSSLKEY']) vi.stubEnv(name, undefined);
  servers = await startTlsServers();
});
afterAll(() => {
  servers?.stop();
  vi.unstubAllEnvs();
  rmSync(home, { recursive: true, force: true });
});

/** `{ca}`, `{other}`, `{cert}`, `{key}` in a query stand for the files of the test CA folder. */
function files(query: string): string {
  return query
    .replaceAll('{ca}', join(servers.dir, 'ca.pem'))
    .replaceAll('{other}', join(servers.dir, 'other-ca.pem'))
    .replaceAll('{cert}', join(servers.dir, 'client.pem'))
    .replaceAll('{key}', join(servers.dir, 'client.key'));
}

const NO_ENCRYPTION = /no encryption/;
const WRONG_CA = /self-signed certificate in certificate chain/;
const WRONG_HOST = /IP: 127\.0\.0\.1 is not in the cert's list/;

// [sslmode and files, user, host, the outcome: 'tls' | 'plain' | the refusal]
type Outcome = 'tls' | 'plain' | RegExp;
const postgresCases: [string, string, string, Outcome][] = [
  ['sslmode=disable', 'migrate', '127.0.0.1', 'plain'],
  ['sslmode=disable', 'migrate_tls', '127.0.0.1', NO_ENCRYPTION],
  ['sslmode=allow', 'migrate', '127.0.0.1', 'plain'],
  ['sslmode=allow', 'migrate_tls', '127.0.0.1', 'tls'], // plain refused by the server, then TLS
  ['', 'migrate', '127.0.0.1', 'tls'], // prefer is the default
  ['sslmode=prefer', 'migrate', '127.0.0.1', 'tls'], // encrypts without checking the self-signed chain
  ['sslmode=prefer&sslrootcert={other}', 'migrate', '127.0.0.1', 'plain'], // the check fails: plain, as libpq
  ['sslmode=prefer&sslrootcert={other}', 'migrate_tls', '127.0.0.1', NO_ENCRYPTION],
  ['sslmode=require', 'migrate', '127.0.0.1', 'tls'],
  ['sslmode=require&sslrootcert={ca}', 'migrate', '127.0.0.1', 'tls'],
  ['sslmode=require&sslrootcert={other}', 'migrate', '127.0.0.1', WRONG_CA], // with a root cert: verify-ca
  ['sslmode=verify-ca&sslrootcert={ca}', 'migrate', '127.0.0.1', 'tls'], // no host name check
  ['sslmode=verify-ca&sslrootcert={other}', 'migrate', 'localhost', WRONG_CA],
  ['sslmode=verify-full&sslrootcert={ca}', 'migrate', 'localhost', 'tls'],
  ['sslmode=verify-full&sslrootcert={ca}', 'migrate', '127.0.0.1', WRONG_HOST],
  ['sslmode=verify-full&sslrootcert={other}', 'migrate', 'localhost', WRONG_CA],
  ['sslmode=require&sslcert={cert}&sslkey={key}', 'migrate_cert', '127.0.0.1', 'tls'],
  ['sslmode=require', 'migrate_cert', '127.0.0.1', /valid client certificate/],
];

describe('PostgreSQL TLS follows libpq sslmode', () => {
  test.each(postgresCases)('%s as %s at %s', async (query, user, host, outcome) => {
    const url = servers.pgUrl(user, host, files(query));
    const connecting = connectPostgres(url);
    if (outcome instanceof RegExp) {
      const error = await connecting.then(
        (c) => c.end().then(() => undefined),
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ConnectionError);
      expect((error as Error).message).toMatch(outcome);
      return;
    }
    const client = await connecting;
    try {
      const result = await client.query<{ ssl: string; who: string }>(
        'SELECT ssl::text AS ssl, current_user AS who FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
      );
      expect(result.rows[0]).toEqual({ ssl: outcome === 'tls' ? 'true' : 'false', who: user });
    } finally {
      await client.end();
    }
  });
});

const mysqlCases: [string, string, string, Outcome][] = [
  ['ssl-mode=DISABLED', 'migrate', '127.0.0.1', 'plain'],
  ['ssl-mode=DISABLED', 'migrate_tls', '127.0.0.1', /Access denied/],
  ['', 'migrate_tls', '127.0.0.1', 'tls'], // PREFERRED is the default
  ['ssl-mode=PREFERRED', 'migrate', '127.0.0.1', 'tls'],
  ['ssl-mode=REQUIRED', 'migrate', '127.0.0.1', 'tls'],
  ['ssl-mode=VERIFY_CA&ssl-ca={ca}', 'migrate', '127.0.0.1', 'tls'], // no host name check
  ['ssl-mode=VERIFY_CA&ssl-ca={other}', 'migrate', 'localhost', WRONG_CA],
  ['ssl-ca={ca}', 'migrate', '127.0.0.1', 'tls'], // a CA alone means VERIFY_CA
  ['ssl-ca={other}', 'migrate', '127.0.0.1', WRONG_CA],
  ['ssl-mode=VERIFY_IDENTITY&ssl-ca={ca}', 'migrate', 'localhost', 'tls'],
  ['ssl-mode=VERIFY_IDENTITY&ssl-ca={ca}', 'migrate', '127.0.0.1', WRONG_HOST],
  ['ssl-mode=VERIFY_IDENTITY&ssl-ca={other}', 'migrate', 'localhost', WRONG_CA],
  ['ssl-mode=REQUIRED&ssl-cert={cert}&ssl-key={key}', 'migrate_cert', '127.0.0.1', 'tls'],
  ['ssl-mode=REQUIRED', 'migrate_cert', '127.0.0.1', /Access denied/],
];

describe('MySQL/MariaDB TLS follows the mysql client ssl-mode', () => {
  test.each(mysqlCases)('%s as %s at %s', async (query, user, host, outcome) => {
    const url = servers.mysqlUrl(user, host, files(query));
    const connecting = connectMysql(url);
    if (outcome instanceof RegExp) {
      const error = await connecting.then(
        (s) => s.conn.end().then(() => undefined),
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ConnectionError);
      expect((error as Error).message).toMatch(outcome);
      return;
    }
    const { conn } = await connecting;
    try {
      const [status] = await conn.query<RowDataPacket[]>("SHOW SESSION STATUS LIKE 'Ssl_cipher'");
      const [who] = await conn.query<RowDataPacket[]>('SELECT CURRENT_USER() AS who');
      expect(String(who[0]?.who)).toMatch(new RegExp(`^${user}@`));
      if (outcome === 'tls') expect(status[0]?.Value).not.toBe('');
      else expect(status[0]?.Value).toBe('');
    } finally {
      await conn.end();
    }
  });
});

// Only a server without TLS shows the fallbacks to plain: the shared servers when they were started without
// TLS (these tests skip themselves when the servers have TLS, as under `services.sh start` now).
describe('against a server without TLS', () => {
  test('PostgreSQL: prefer and allow connect in plain, require is refused', async (ctx) => {
    const plain = await connectPostgres(withQuery(testServers.pgUrl, 'sslmode=disable'));
    const ssl = await plain.query<{ ssl: string }>('SHOW ssl');
    await plain.end();
    if (ssl.rows[0]?.ssl !== 'off') ctx.skip();
    for (const mode of ['prefer', 'allow']) {
      const client = await connectPostgres(withQuery(testServers.pgUrl, `sslmode=${mode}`));
      await client.end();
    }
    await expect(connectPostgres(withQuery(testServers.pgUrl, 'sslmode=require'))).rejects.toThrow(
      /does not support SSL/,
    );
  });

  test('MySQL: PREFERRED connects in plain, REQUIRED is refused', async (ctx) => {
    const plain = await connectMysql(withQuery(testServers.mysqlUrl, 'ssl-mode=DISABLED'));
    const [rows] = await plain.conn.query<RowDataPacket[]>('SELECT @@have_ssl AS have');
    await plain.conn.end();
    if (rows[0]?.have === 'YES') ctx.skip();
    const preferred = await connectMysql(testServers.mysqlUrl);
    await preferred.conn.end();
    await expect(connectMysql(withQuery(testServers.mysqlUrl, 'ssl-mode=REQUIRED'))).rejects.toThrow(
      /does not support secure connection/,
    );
  });
});

function withQuery(base: string, query: string): string {
  const url = new URL(base);
  url.search = query;
  return url.toString();
}
