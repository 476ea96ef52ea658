/**
 * How every command opens the plan's servers: select the `--tables`, open and ping the source and the
 * target, resolve the tables against them, open the cache, and close all of it again (`withSession`).
 */
import type { Cache } from '../cache/cache.js';
import { openCache } from '../cache/open.js';
import type { Dialect } from '../db/dialect.js';
import { openDialect, pingAll } from '../db/open.js';
import { ConnectionError, SchemaError, type SchemaProblem } from '../errors.js';
import type { Plan, PlanCache } from '../plan/schema.js';
import { resolveTable, type TableMapping } from './mapping.js';
import { selectTables } from './select-tables.js';

export interface SessionOptions {
  /** `--tables` (target names); absent or empty: every table of the plan. */
  tables: readonly string[] | undefined;
  /** Resolve a table missing from the target as `createTables` would create it (run, validate, dry-run). */
  planCreate?: boolean;
  /** Ask each of these cache servers on its own before resolving, so a failure names it (validate). */
  pingCache?: PlanCache | null;
  /** The cache to open once the tables resolve; absent or null: none. */
  cache?: PlanCache | null;
  concurrency?: number | undefined;
  /** Receives the cache's messages (a server failing, keys refused). */
  onCacheLog?: ((message: string) => void) | undefined;
}

export interface Session {
  source: Dialect;
  target: Dialect;
  /** The selected tables, in plan order, resolved against both databases. */
  mappings: TableMapping[];
  cache: Cache | null;
  /** Closes both databases and the cache. */
  close(): Promise<void>;
}

/** Opens a session for `work` and closes it when `work` ends, however it ends. */
export async function withSession<T>(
  plan: Plan,
  opts: SessionOptions,
  work: (session: Session) => Promise<T>,
): Promise<T> {
  const session = await openSession(plan, opts);
  try {
    return await work(session);
  } finally {
    await session.close();
  }
}

/** An open session; the caller closes it. On a failure while opening, what was opened is closed again. */
export async function openSession(plan: Plan, opts: SessionOptions): Promise<Session> {
  // An unknown --tables name is a usage error before any server is asked.
  const indexes = selectTables(plan, opts.tables);
  const source = await openDialect(plan.source.url);
  const target = await openDialect(plan.target.url);
  const session: Session = {
    source,
    target,
    mappings: [],
    cache: null,
    close: async () => {
      await Promise.all([source.close(), target.close(), session.cache?.close()]);
    },
  };
  try {
    await pingAll([source, target]);
    if (opts.pingCache) await pingCacheServers(opts.pingCache);
    session.mappings = await resolveAll(plan, indexes, source, target, { planCreate: opts.planCreate });
    if (opts.cache) session.cache = await openCache(opts.cache, opts.concurrency, opts.onCacheLog);
    return session;
  } catch (error) {
    await session.close();
    throw error;
  }
}

/** Opens only the target (`status` reads its state table and needs no source) for `work`, then closes it. */
export async function withTarget<T>(
  plan: Plan,
  tables: readonly string[] | undefined,
  work: (target: Dialect, indexes: number[]) => Promise<T>,
): Promise<T> {
  const indexes = selectTables(plan, tables);
  const target = await openDialect(plan.target.url);
  try {
    return await work(target, indexes);
  } finally {
    await target.close();
  }
}

/** Resolves every selected table; the schema problems of all of them are reported together. */
async function resolveAll(
  plan: Plan,
  indexes: number[],
  source: Dialect,
  target: Dialect,
  opts: { planCreate?: boolean | undefined },
): Promise<TableMapping[]> {
  const mappings: TableMapping[] = [];
  const messages: string[] = [];
  const problems: SchemaProblem[] = [];
  for (const i of indexes) {
    try {
      mappings.push(await resolveTable(plan, i, source, target, opts));
    } catch (error) {
      if (!(error instanceof SchemaError)) throw error;
      messages.push(error.message);
      problems.push(...error.problems);
    }
  }
  if (messages.length > 0) {
    throw new SchemaError(messages.join('\n'), {
      hint: 'fix the plan (or the target schema) and run `migrate validate` again',
      problems,
    });
  }
  return mappings;
}

const PING_KEY = 'cache-migrate:ping';

/** Asks each cache server on its own, so that a failure names the server. */
async function pingCacheServers(cfg: PlanCache): Promise<void> {
  if (cfg.driver !== 'memcached') return;
  const failures: string[] = [];
  await Promise.all(
    (cfg.servers ?? []).map(async (server) => {
      const one = await openCache({ ...cfg, servers: [server], retries: 0 });
      try {
        const got = await one.get([PING_KEY]);
        if (got.failed.length > 0) failures.push(server);
      } finally {
        await one.close();
      }
    }),
  );
  if (failures.length > 0) {
    throw new ConnectionError(
      `memcached ${failures.join(', ')}`,
      `${failures.length === 1 ? 'the server does not' : 'these servers do not'} answer`,
      { hint: 'check that memcached runs there (and the SASL username/password if the server needs them)' },
    );
  }
}
