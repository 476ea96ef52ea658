/**
 * Connections to PostgreSQL: every value arrives as text and is decoded per column kind by `codec.ts`.
 *
 * Timeouts, so that a stalled network or server is noticed instead of waited on forever:
 * - TCP keepalive (first probe after 30 s idle): a peer that vanished (host down, network cut) is noticed
 *   even on an idle connection.
 * - Connect timeout: 10 s (or the query timeout, when that is shorter) for TCP connect, TLS and login, per
 *   attempt: sslmode allow and prefer make a second attempt when the first fails (tls.ts says when).
 * - Query timeout, client-side: a query or COPY that has no complete answer after `MIGRATE_QUERY_TIMEOUT_MS`
 *   milliseconds (default 120000: far more than the biggest batch needs; the environment variable exists
 *   for tests and unusually slow servers; 0 switches it off) fails with a `code: 'ETIMEDOUT'` error AND ends
 *   its connection: the query may still be running in the server, so the connection is in an unknown state
 *   and must not be reused; dropping it also fails whatever was queued behind it at once. The engine's
 *   retry (engine/retry.ts) takes a timeout for a lost connection: the batch's transaction rolls back and
 *   the chunk resumes from its checkpoint on a new connection.
 *   Server-side cursors (the single pass over a key-less table) are exempt: their life is the copy of a
 *   whole table, however long that takes; keepalive still catches a dead peer there.
 * - `idle_in_transaction_session_timeout` = the query timeout, server-side: see connectPostgres.
 * - Ending a connection is bounded too: a polite goodbye that gets no answer in 2 s closes the socket, so
 *   a run that gives up on a stalled server still exits.
 */
import pg from 'pg';
import { ConnectionError } from '../../errors.js';
import { maskUrl } from '../../secrets.js';
import { withUrl } from '../tls-check.js';
import { tlsFailureHint } from '../tls-files.js';
import { type Attempt, fallsBack, postgresTls } from './tls.js';

const asText = (value: string): string => value;
const types = { getTypeParser: () => asText } as unknown as pg.CustomTypesConfig;

/** Session settings that make the text forms exact and zone-independent. */
const SESSION_SQL =
  "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; " +
  "SET extra_float_digits = 1; SET client_encoding = 'UTF8'; " +
  // sql-fragment.ts scans a plan's raw SQL with backslashes literal outside E'…' strings.
  'SET standard_conforming_strings = on';

const DEFAULT_QUERY_TIMEOUT_MS = 120_000;
const CONNECT_TIMEOUT_MS = 10_000;
const KEEPALIVE_DELAY_MS = 30_000;
const END_GRACE_MS = 2_000;

/** The client-side query timeout in ms (0: none), from `MIGRATE_QUERY_TIMEOUT_MS`; see the top of this file. */
function queryTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.MIGRATE_QUERY_TIMEOUT_MS?.trim();
  const n = raw ? Number(raw) : Number.NaN;
  // setTimeout's limit is 2^31-1 ms; anything unreadable falls back to the default.
  return Number.isInteger(n) && n >= 0 && n < 2 ** 31 ? n : DEFAULT_QUERY_TIMEOUT_MS;
}

/**
 * `replication`: a logical replication connection (`replication=database`, changes/stream.ts) with the same
 * session settings, so the walsender prints values as the copy path reads them; no client-side query
 * timeout (its one command streams for as long as the follow lasts; keepalive still catches a dead peer).
 */
export async function connectPostgres(
  url: string,
  options: { replication?: boolean } = {},
): Promise<pg.Client> {
  const timeout = options.replication ? 0 : queryTimeoutMs();
  const connectTimeout = timeout > 0 ? Math.min(CONNECT_TIMEOUT_MS, timeout) : CONNECT_TIMEOUT_MS;
  // Bad TLS options are the user's mistake (exit 2), found before any connection is tried.
  const tls = withUrl(url, () => postgresTls(url));
  const failures: string[] = [];
  for (const [i, ssl] of tls.attempts.entries()) {
    try {
      return await connectOnce(tls.url, ssl, timeout, connectTimeout, options.replication === true);
    } catch (error) {
      const why =
        error instanceof Error && /timeout expired/i.test(error.message)
          ? `no answer within ${connectTimeout} ms (connect timeout)`
          : describe(error);
      failures.push(tls.attempts.length > 1 ? `${ssl ? 'with TLS' : 'without TLS'}: ${why}` : why);
      if (i + 1 < tls.attempts.length && fallsBack(tls.mode, error)) continue;
      throw new ConnectionError(maskUrl(url), `cannot connect to PostgreSQL: ${failures.join('; then ')}`, {
        cause: error,
        hint: isTlsFailure(error)
          ? tlsFailureHint(`sslmode=${tls.mode}`, 'sslrootcert')
          : 'check that the server is running, and the host, port, user, password and database in the URL',
      });
    }
  }
  throw new Error('unreachable: postgresTls returns at least one attempt');
}

/** One connection, plain (`ssl` false) or with these TLS options. */
async function connectOnce(
  url: string,
  ssl: Attempt,
  timeout: number,
  connectTimeout: number,
  replication: boolean,
): Promise<pg.Client> {
  const client = new GuardedClient(
    {
      connectionString: url,
      ...(replication ? { replication: 'database' } : {}),
      ssl,
      types,
      application_name: 'cache-migrate',
      keepAlive: true,
      keepAliveInitialDelayMillis: KEEPALIVE_DELAY_MS,
      connectionTimeoutMillis: connectTimeout,
      // A session whose client vanished mid-transaction (a network partition, a stall the client gave up
      // on) would hold its row locks until the server notices, which can take hours: the server ends a
      // transaction left idle that long (this tool's own transactions pause between statements only for moments).
      ...(timeout > 0 ? { idle_in_transaction_session_timeout: timeout } : {}),
    },
    timeout,
  );
  try {
    await client.connect();
    await client.query(SESSION_SQL);
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  // A connection that dies later must not crash the process through an unhandled 'error' event: the
  // query in flight fails with it and the engine reports that.
  client.on('error', () => undefined);
  return client;
}

/** A certificate the TLS handshake refused (Node's X.509 and host name errors). */
function isTlsFailure(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return (
    typeof code === 'string' &&
    (code === 'ERR_TLS_CERT_ALTNAME_INVALID' || /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/.test(code))
  );
}

interface Submittable {
  submit: unknown;
  callback?: (...args: unknown[]) => unknown;
  handlePortalSuspended?: unknown;
  handleReadyForQuery?: (...args: unknown[]) => unknown;
  handleError?: (...args: unknown[]) => unknown;
}

/** A pg.Client with the query timeout and the bounded end described at the top of this file. */
class GuardedClient extends pg.Client {
  constructor(
    config: pg.ClientConfig,
    private readonly timeoutMs: number,
  ) {
    super(config);
  }

  // biome-ignore lint/suspicious/noExplicitAny: passes every one of pg's query() overloads through unchanged
  override query(...args: any[]): any {
    const result = (super.query as unknown as (...a: unknown[]) => unknown).apply(this, args);
    if (this.timeoutMs > 0) this.watch(args[0], result);
    return result;
  }

  /** Arms the timeout of one query; disarmed when its promise settles or its submittable calls back. */
  private watch(config: unknown, result: unknown): void {
    const submittable =
      config !== null && typeof config === 'object' && typeof (config as Submittable).submit === 'function'
        ? (config as Submittable)
        : null;
    if (submittable && typeof submittable.handlePortalSuspended === 'function') return; // a cursor
    const timer = setTimeout(() => this.stalled(), this.timeoutMs);
    timer.unref();
    const clear = () => clearTimeout(timer);
    if (result instanceof Promise) {
      result.then(clear, clear);
    } else if (submittable) {
      // What pg itself does for its query_timeout: COPY streams call `callback` when they finish or fail.
      const callback = submittable.callback;
      submittable.callback = function (this: unknown, ...a: unknown[]) {
        clear();
        return callback?.apply(this, a);
      };
      // COPY TO streams have no callback: pg tells them that the query ended through these two.
      for (const name of ['handleReadyForQuery', 'handleError'] as const) {
        const handler = submittable[name];
        if (typeof handler !== 'function') continue;
        submittable[name] = function (this: unknown, ...a: unknown[]) {
          clear();
          return handler.apply(this, a);
        };
      }
    } else {
      clear(); // callback-style queries are not used by this project
    }
  }

  private stalled(): void {
    const error = Object.assign(
      new Error(
        `no answer from PostgreSQL within ${this.timeoutMs} ms (query timeout, MIGRATE_QUERY_TIMEOUT_MS): ` +
          'the network or the server stalled; the connection was dropped',
      ),
      { code: 'ETIMEDOUT' },
    );
    this.connection.stream.destroy(error);
  }

  override end(): Promise<void>;
  override end(callback: (err: Error) => void): void;
  override end(callback?: (err: Error) => void): Promise<void> | undefined {
    const timer = setTimeout(() => this.connection.stream.destroy(), END_GRACE_MS);
    timer.unref();
    const ended = super.end().finally(() => clearTimeout(timer));
    if (!callback) return ended;
    ended.then(() => (callback as () => void)(), callback);
    return undefined;
  }
}

export function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: string }).code;
    return code && !error.message.includes(code) ? `${error.message} (${code})` : error.message;
  }
  return String(error);
}

/**
 * PostgreSQL's DETAIL of an error, unless it holds row values: "Failing row contains (…)" (NOT NULL and CHECK
 * violations) prints the whole row, secrets and all, so it is never shown. Key values ("Key (id)=(42) …")
 * are shown, as everywhere else.
 */
export function safeDetail(detail: string | undefined): string | undefined {
  if (!detail || /^Failing row contains/i.test(detail)) return undefined;
  return detail;
}
