/**
 * The ONLY definition of the plan's types (docs/plan.md "The plan file"). Every object is strict: an unknown
 * key is an error, not silently ignored. Defaults live here; `Plan` is what the rest of the program sees.
 */
import { z } from 'zod';
import { EXPIRY_MAX_UNIX_S, RELATIVE_TTL_MAX_S } from './expiry.js';
import { templateProblem } from './key-template-syntax.js';
import { urlProblem } from './url-check.js';

const positiveInt = z.number().int().positive();

const url = z
  .string()
  .min(1)
  .superRefine((value, ctx) => {
    const problem = urlProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

const serverAddress = z
  .string()
  .regex(/^[^\s:]+:\d{1,5}$/, { message: 'expected host:port, e.g. 127.0.0.1:11211' });

const onConflictValues = ['upsert', 'skip', 'error'] as const;
const verifyValues = ['checksum', 'none'] as const;
const warmValues = ['read-through', 'write-through', 'off'] as const;

/** The largest `batchSize` (in the plan or as `--batch-size`). */
export const MAX_BATCH_SIZE = 1_000_000;

/**
 * Bytes a batch may take as read (2 MiB): above a 5,000-row batch of rows up to about 400 bytes, so narrow
 * rows keep their batches and only wide rows make shorter ones. A run holds a few batches per lane (read
 * ahead, converted, written, warmed) and their copies, so this bounds its memory.
 */
const DEFAULT_MAX_BATCH_BYTES = 2 * 1024 * 1024;

/** Keys shared by `defaults` and each table; per-table values override `defaults`. */
const tableOptions = {
  batchSize: positiveInt.max(MAX_BATCH_SIZE).optional(),
  maxBatchBytes: positiveInt
    .min(1024)
    .max(1024 ** 3)
    .optional(),
  onConflict: z.enum(onConflictValues).optional(),
  verify: z.enum(verifyValues).optional(),
  // `zeroDates: null` is what users write, and YAML reads it as null (not the string): both mean NULL.
  zeroDates: z.preprocess((v) => (v === null ? 'null' : v), z.enum(['error', 'null'])).optional(),
  invalid: z.enum(['error', 'skip']).optional(),
  createTables: z.boolean().optional(),
};

const defaultsSchema = z.strictObject(tableOptions);

const cacheValue = z.string().regex(/^(json|column:.+)$/, { message: 'expected `json` or `column:<name>`' });

/**
 * memcached reads an expiry of at most 30 days as seconds from now and a larger one as a Unix time, which
 * its text protocol and 32-bit builds read as a signed 32-bit number: a TTL over 30 days must end by
 * 2038-01-19T03:14:07Z (2^31 - 1), or the entry lands in the past (or wraps) and is never stored.
 */

/** Why a TTL cannot be sent to memcached, or undefined when it can (`nowMs`: when it is checked). */
export function ttlProblem(ttl: number, nowMs = Date.now()): string | undefined {
  if (ttl <= RELATIVE_TTL_MAX_S) return undefined;
  const longest = EXPIRY_MAX_UNIX_S - Math.floor(nowMs / 1000);
  if (ttl <= longest) return undefined;
  return (
    `a TTL over ${RELATIVE_TTL_MAX_S} seconds (30 days) is sent to memcached as the Unix time now + ttl, ` +
    `which must not pass ${EXPIRY_MAX_UNIX_S} (2038-01-19T03:14:07Z): at most ${longest} seconds today`
  );
}

const ttlSchema = z
  .number()
  .int()
  .min(0)
  .superRefine((ttl, ctx) => {
    const problem = ttlProblem(ttl);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/** The template's shape: balanced braces (`{{`, `}}` escape them), at least one placeholder. */
const keyTemplateSchema = z
  .string()
  .min(1)
  .superRefine((template, ctx) => {
    const problem = templateProblem(template);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

const tableCacheSchema = z.strictObject({
  key: keyTemplateSchema.optional(),
  value: cacheValue.default('json'),
  ttl: ttlSchema.optional(),
});

const tableSourceSchema = z.union([z.string().min(1), z.strictObject({ query: z.string().min(1) })]);

const tableSchema = z.strictObject({
  source: tableSourceSchema,
  target: z.string().min(1).optional(),
  key: z.array(z.string().min(1)).min(1).optional(),
  where: z.string().min(1).optional(),
  /** `name: false` drops a column, `name: other` renames it. */
  columns: z.record(z.string(), z.union([z.literal(false), z.string().min(1)])).optional(),
  cache: tableCacheSchema.optional(),
  ...tableOptions,
});

/** memcached's default item size is 1 MiB; an item also carries its key and ~50 bytes of header. */
const DEFAULT_MAX_VALUE_BYTES = 1024 * 1024 - 512;

const cacheSchema = z.strictObject({
  driver: z.enum(['memcached', 'memory']).default('memcached'),
  servers: z.array(serverAddress).min(1).optional(),
  distribution: z.enum(['modula', 'ketama']).default('modula'),
  ketama: z.enum(['libmemcached', 'spymemcached']).default('libmemcached'),
  ttl: ttlSchema.default(0),
  prefix: z.string().default(''),
  warm: z.enum(warmValues).default('read-through'),
  overwrite: z.boolean().default(false),
  username: z.string().optional(),
  password: z.string().optional(),
  longKeys: z.enum(['skip', 'hash']).default('skip'),
  maxValueBytes: positiveInt.default(DEFAULT_MAX_VALUE_BYTES),
  required: z.boolean().default(false),
  timeoutMs: positiveInt.default(2000),
  retries: z.number().int().min(0).max(20).default(3),
});

export const planSchema = z
  .strictObject({
    version: z.literal(1),
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, {
        message: 'expected letters, digits, `.`, `_` or `-` (it keys checkpoints and the run lock)',
      })
      .max(100),
    source: z.strictObject({ url }),
    target: z.strictObject({ url }),
    cache: cacheSchema.optional(),
    defaults: defaultsSchema.optional(),
    tables: z.array(tableSchema).min(1),
    state: z.strictObject({ table: z.string().min(1).default('_migrate_state') }).optional(),
  })
  .superRefine((plan, ctx) => {
    const warm = plan.cache?.warm ?? 'off';
    if (plan.cache && plan.cache.driver === 'memcached' && !plan.cache.servers) {
      ctx.addIssue({
        code: 'custom',
        path: ['cache', 'servers'],
        message: 'memcached needs at least one server (host:port), or set `driver: memory`',
      });
    }
    if (plan.cache && (plan.cache.username === undefined) !== (plan.cache.password === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['cache', plan.cache.username === undefined ? 'username' : 'password'],
        message: 'SASL needs both `username` and `password`',
      });
    }
    const targets = new Map<string, number>();
    plan.tables.forEach((table, i) => {
      if (typeof table.source === 'object') {
        if (!table.key) {
          ctx.addIssue({
            code: 'custom',
            path: ['tables', i, 'key'],
            message: 'a `source: { query }` table needs an explicit `key`',
          });
        }
        if (!table.target) {
          ctx.addIssue({
            code: 'custom',
            path: ['tables', i, 'target'],
            message: 'a `source: { query }` table needs a `target` table name',
          });
        }
        if (table.where) {
          ctx.addIssue({
            code: 'custom',
            path: ['tables', i, 'where'],
            message: 'put the filter inside the `query` instead of `where`',
          });
        }
      }
      if (plan.cache && warm !== 'off' && !table.cache?.key) {
        ctx.addIssue({
          code: 'custom',
          path: ['tables', i, 'cache', 'key'],
          message: `required when cache.warm is ${warm}: a template such as "order:{id}"`,
        });
      }
      const target = targetName(table);
      const seen = targets.get(target);
      if (seen !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['tables', i, 'target'],
          message: `target table ${target} is already written by tables[${seen}]`,
        });
      } else targets.set(target, i);
    });
  });

export type Plan = z.infer<typeof planSchema>;
export type PlanTable = Plan['tables'][number];
export type PlanCache = NonNullable<Plan['cache']>;

/** A table entry with `defaults` and the built-in defaults applied. */
export interface ResolvedTableOptions {
  batchSize: number;
  /** A batch ends after the row that brings it to this many bytes as read, whatever `batchSize` says. */
  maxBatchBytes: number;
  onConflict: (typeof onConflictValues)[number];
  verify: (typeof verifyValues)[number];
  zeroDates: 'error' | 'null';
  invalid: 'error' | 'skip';
  createTables: boolean;
}

export function resolveTableOptions(plan: Plan, table: PlanTable): ResolvedTableOptions {
  const d = plan.defaults ?? {};
  return {
    batchSize: table.batchSize ?? d.batchSize ?? 5000,
    maxBatchBytes: table.maxBatchBytes ?? d.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES,
    onConflict: table.onConflict ?? d.onConflict ?? 'upsert',
    verify: table.verify ?? d.verify ?? 'checksum',
    zeroDates: table.zeroDates ?? d.zeroDates ?? 'error',
    invalid: table.invalid ?? d.invalid ?? 'error',
    createTables: table.createTables ?? d.createTables ?? false,
  };
}

/**
 * The target table's name (`target`, else the source table's name): the name a table is known by in output,
 * `--tables` and checkpoints.
 */
export function targetName(table: PlanTable): string {
  if (table.target) return table.target;
  return typeof table.source === 'string' ? table.source : '(query)';
}

export function stateTableName(plan: Plan): string {
  return plan.state?.table ?? '_migrate_state';
}
