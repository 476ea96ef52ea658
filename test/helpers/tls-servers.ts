// PostgreSQL and MariaDB that speak TLS with the test CA of scripts/services.sh (server certificate for
// `localhost` only, users migrate_tls and migrate_cert; see the top of that script).
// When TEST_TLS_DIR is set (`services.sh env` prints it once the shared servers run with TLS) those servers
// are used; otherwise a private pair is started from a temporary folder with the same script on free ports,
// so the shared servers are never restarted.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testServers } from './env.js';

const SCRIPT = resolve(dirname(fileURLToPath(import.meta.url)), '../../scripts/services.sh');

export interface TlsServers {
  /** ca.pem (signed the servers' certificates), other-ca.pem (signed nothing), client.pem/.key. */
  dir: string;
  /** A URL of `user` (password "migrate" unless the user is migrate_cert) at `host`, with `query`. */
  pgUrl(user: string, host: string, query?: string): string;
  mysqlUrl(user: string, host: string, query?: string): string;
  stop(): void;
}

/**
 * The TLS folder of this checkout's own servers (`bash scripts/services.sh start`, then `npm test` without
 * `services.sh env`), when both run with TLS and the tests use the default servers.
 */
function defaultTlsDir(): string | undefined {
  if (process.env.TEST_PG_URL?.trim() || process.env.TEST_MYSQL_URL?.trim()) return undefined;
  const dir = resolve(dirname(SCRIPT), '../.services/tls');
  return existsSync(join(dir, '.postgres-on')) && existsSync(join(dir, '.mariadb-on')) ? dir : undefined;
}

export async function startTlsServers(): Promise<TlsServers> {
  const shared = process.env.TEST_TLS_DIR?.trim() || defaultTlsDir();
  if (shared) return servers(shared, testServers.pgUrl, testServers.mysqlUrl, () => undefined);
  const state = mkdtempSync(join(tmpdir(), 'cm-tls-'));
  chmodSync(state, 0o755); // the postgres OS user must reach its data folder inside
  const pgPort = await freePort();
  const mysqlPort = await freePort();
  const env = {
    ...process.env,
    SERVICES_STATE_DIR: state,
    SERVICES_PG_PORT: String(pgPort),
    SERVICES_MYSQL_PORT: String(mysqlPort),
  };
  const stop = () => {
    try {
      execFileSync('bash', [SCRIPT, 'stop'], { env, stdio: 'ignore' });
    } finally {
      rmSync(state, { recursive: true, force: true });
    }
  };
  try {
    execFileSync('bash', [SCRIPT, 'start', 'postgres', 'mariadb'], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  } catch (error) {
    stop();
    throw new Error(`could not start private TLS servers: ${(error as { stderr?: Buffer }).stderr}`);
  }
  return servers(
    join(state, 'tls'),
    `postgres://migrate:migrate@127.0.0.1:${pgPort}/migrate`,
    `mysql://migrate:migrate@127.0.0.1:${mysqlPort}/migrate`,
    stop,
  );
}

function servers(dir: string, pgUrl: string, mysqlUrl: string, stop: () => void): TlsServers {
  const at = (base: string, user: string, host: string, query = '') => {
    const url = new URL(base);
    url.username = user;
    url.password = user === 'migrate_cert' ? '' : 'migrate';
    url.hostname = host;
    url.search = query;
    return url.toString();
  };
  return {
    dir,
    pgUrl: (user, host, query) => at(pgUrl, user, host, query),
    mysqlUrl: (user, host, query) => at(mysqlUrl, user, host, query),
    stop,
  };
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolvePort(port));
    });
    server.on('error', reject);
  });
}
