// biome-ignore-all lint/suspicious/noTemplateCurlyInString: plans use `${NAME}` interpolation.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatPlanIssue, PlanError, type PlanIssue, renderPlanPath } from '../../src/errors.js';
import { loadPlan, parsePlan } from '../../src/plan/load.js';
import { resolveTableOptions } from '../../src/plan/schema.js';
import { editDistance, suggest } from '../../src/plan/suggest.js';

const VALID = `version: 1
name: shop-to-pg
source:
  url: mysql://shop:\${SHOP_MYSQL_PASSWORD}@127.0.0.1:3306/shop
target:
  url: postgres://shop:\${SHOP_PG_PASSWORD:-shop}@127.0.0.1:5432/shop
cache:
  servers: [127.0.0.1:11211, 127.0.0.1:11212]
  distribution: ketama
tables:
  - source: orders
    cache:
      key: "order:{id}"
`;

const ENV = { SHOP_MYSQL_PASSWORD: 'my-secret-pw' };

/** The PlanError's issues; fails the test when `fn` does not throw one. */
function issuesOf(fn: () => unknown): PlanIssue[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof PlanError) return error.issues;
    throw error;
  }
  throw new Error('expected a PlanError');
}

function allText(issues: PlanIssue[]): string {
  return issues.map(formatPlanIssue).join('\n');
}

describe('loadPlan', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plan-load-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads a valid plan with the defaults applied', async () => {
    const file = join(dir, 'valid.yaml');
    await writeFile(file, VALID);
    const loaded = await loadPlan(file, ENV);
    expect(loaded.file).toBe(file);
    expect(loaded.plan.source.url).toBe('mysql://shop:my-secret-pw@127.0.0.1:3306/shop');
    expect(loaded.plan.target.url).toBe('postgres://shop:shop@127.0.0.1:5432/shop');
    expect(loaded.plan.cache).toMatchObject({
      driver: 'memcached',
      distribution: 'ketama',
      ttl: 0,
      prefix: '',
      warm: 'read-through',
      overwrite: false,
      longKeys: 'skip',
    });
    expect(loaded.plan.tables[0]?.cache?.value).toBe('json');
    expect(loaded.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(loaded.positionOf(['tables', 0, 'cache', 'key'])).toEqual({ line: 13, col: 12 });
    expect(loaded.positionOf(['cache', 'servers', 1])).toEqual({ line: 8, col: 30 });
    // A path not in the file points at the nearest enclosing node that is.
    expect(loaded.positionOf(['tables', 0, 'where'])).toEqual({ line: 11, col: 5 });
  });

  it('gives the same hash for a rotated password and a different one for a changed plan', () => {
    const a = parsePlan(VALID, 'p.yaml', ENV).hash;
    const b = parsePlan(VALID, 'p.yaml', { SHOP_MYSQL_PASSWORD: 'rotated' }).hash;
    const c = parsePlan(VALID.replace('ketama', 'modula'), 'p.yaml', ENV).hash;
    expect(b).toBe(a);
    expect(c).not.toBe(a);
    // The hash reads the plan, not the file: the order keys are written in does not change it.
    const reordered = VALID.replace(
      '  servers: [127.0.0.1:11211, 127.0.0.1:11212]\n  distribution: ketama\n',
      '  distribution: ketama\n  servers: [127.0.0.1:11211, 127.0.0.1:11212]\n',
    );
    expect(reordered).not.toBe(VALID);
    expect(parsePlan(reordered, 'p.yaml', ENV).hash).toBe(a);
  });

  it('names a file that does not exist', async () => {
    const file = join(dir, 'nope.yaml');
    const error = await loadPlan(file, ENV).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PlanError);
    expect((error as PlanError).exitCode).toBe(2);
    expect((error as PlanError).message).toContain(`${file}:1:1: cannot read the plan file: no such file`);
  });

  it('loads migrations.example.yaml', async () => {
    const loaded = await loadPlan(
      fileURLToPath(new URL('../../migrations.example.yaml', import.meta.url)),
      {},
    );
    expect(loaded.plan.name).toBe('shop-to-pg');
    expect(loaded.plan.source.url).toBe('mysql://shop:shop@127.0.0.1:3306/shop');
    expect(loaded.plan.target.url).toBe('postgres://shop:shop@127.0.0.1:5432/shop');
    expect(loaded.plan.cache?.servers).toEqual(['127.0.0.1:11211', '127.0.0.1:11212', '127.0.0.1:11213']);
    expect(loaded.plan.cache?.distribution).toBe('ketama');
    // username/password expand to nothing: treated as not written, so no SASL.
    expect(loaded.plan.cache?.username).toBeUndefined();
    expect(loaded.plan.cache?.password).toBeUndefined();
    expect(loaded.plan.tables.map((t) => t.source)).toEqual(['customers', 'orders', 'order_items']);
    expect(loaded.plan.tables[1]?.columns).toEqual({ cust_id: 'customer_id', legacy_flag: false });
    expect(loaded.plan.tables[2]?.where).toBeDefined();
  });
});

describe('plan errors', () => {
  it('points a misspelt key at its line and suggests the right one', () => {
    const text = VALID.replace('  distribution: ketama', '  distribtion: ketama');
    const [issue, ...rest] = issuesOf(() => parsePlan(text, 'plan.yaml', ENV));
    expect(rest).toEqual([]);
    expect(issue).toMatchObject({ file: 'plan.yaml', line: 9, col: 3, path: 'cache.distribtion' });
    expect(issue?.message).toContain('did you mean `distribution`?');
    expect(issue?.message).toContain('valid here: driver, servers, distribution');
  });

  it('suggests case-insensitive matches', () => {
    const text = VALID.replace('    cache:\n', '    BatchSize: 10\n    cache:\n');
    const [issue] = issuesOf(() => parsePlan(text, 'plan.yaml', ENV));
    expect(issue).toMatchObject({ line: 12, col: 5, path: 'tables[0].BatchSize' });
    expect(issue?.message).toContain('did you mean `batchSize`?');
  });

  it('lists the valid values of an enum', () => {
    const text = VALID.replace('distribution: ketama', 'distribution: ketma');
    const [issue] = issuesOf(() => parsePlan(text, 'plan.yaml', ENV));
    expect(issue).toMatchObject({ line: 9, col: 17, path: 'cache.distribution' });
    expect(issue?.message).toBe('expected one of: modula, ketama; found "ketma": did you mean `ketama`?');
  });

  it('puts a missing required key at its parent', () => {
    const text = VALID.replace('name: shop-to-pg\n', '');
    const [issue] = issuesOf(() => parsePlan(text, 'plan.yaml', ENV));
    expect(issue).toMatchObject({ line: 1, col: 1, path: 'name' });
    expect(issue?.message).toContain('required key is missing');
  });

  it('names a missing environment variable and where it is used', () => {
    const issues = issuesOf(() => parsePlan(VALID, 'plan.yaml', {}));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ line: 4, col: 21, path: 'source.url' });
    expect(issues[0]?.message).toContain('environment variable SHOP_MYSQL_PASSWORD is not set');
  });

  it('lists every missing variable', () => {
    const text = VALID.replace('shop:${SHOP_PG_PASSWORD:-shop}', '${PG_USER}:${PG_PASS}');
    const issues = issuesOf(() => parsePlan(text, 'plan.yaml', {}));
    expect(issues.map((i) => [i.line, i.col, i.message.split(' ')[2]])).toEqual([
      [4, 21, 'SHOP_MYSQL_PASSWORD'],
      [6, 19, 'PG_USER'],
      [6, 30, 'PG_PASS'],
    ]);
  });

  it('uses ${VAR:-default} when the variable is unset or empty, the variable otherwise', () => {
    const text = VALID.replace(
      '  distribution: ketama',
      '  distribution: ${DIST:-modula}\n  prefix: "${P:-x}:"',
    );
    const unset = parsePlan(text, 'plan.yaml', ENV).plan.cache;
    expect([unset?.distribution, unset?.prefix]).toEqual(['modula', 'x:']);
    const empty = parsePlan(text, 'plan.yaml', { ...ENV, DIST: '', P: '' }).plan.cache;
    expect([empty?.distribution, empty?.prefix]).toEqual(['modula', 'x:']);
    const set = parsePlan(text, 'plan.yaml', { ...ENV, DIST: 'ketama', P: 'shop' }).plan.cache;
    expect([set?.distribution, set?.prefix]).toEqual(['ketama', 'shop:']);
  });

  it('reads an unquoted whole reference as YAML would, a quoted one as a string', () => {
    const text = VALID.replace(
      '  distribution: ketama',
      '  ttl: ${TTL:-60}\n  overwrite: ${OVERWRITE:-true}',
    );
    expect(parsePlan(text, 'p.yaml', ENV).plan.cache).toMatchObject({ ttl: 60, overwrite: true });
    const quoted = text.replace('${TTL:-60}', '"${TTL:-60}"');
    const [issue] = issuesOf(() => parsePlan(quoted, 'p.yaml', ENV));
    expect(issue).toMatchObject({ path: 'cache.ttl', line: 9, col: 8 });
    expect(issue?.message).toContain('expected a number, found a string from ${TTL} (value not shown)');
  });

  it('keeps $${ as a literal ${ and any other $ as it is', () => {
    // (a replacer function: a replacement string would itself turn `$$` into `$`)
    const where = `    where: "note = '$\${x}' and a = $$1$$"\n`;
    const text = VALID.replace('    cache:\n', (cache) => where + cache);
    expect(parsePlan(text, 'p.yaml', ENV).plan.tables[0]?.where).toBe("note = '${x}' and a = $$1$$");
  });

  it('reports a malformed reference without echoing it', () => {
    const text = VALID.replace('${SHOP_PG_PASSWORD:-shop}', '${bad-name}');
    const [issue] = issuesOf(() => parsePlan(text, 'p.yaml', ENV));
    expect(issue).toMatchObject({ path: 'target.url', line: 6 });
    expect(issue?.message).toContain('${NAME} or ${NAME:-default}');
    expect(issue?.message).not.toContain('bad-name');
  });

  it('reports every schema error at once, in file order', () => {
    const text = `version: 2
name: shop to pg
source:
  url: mysql://shop:pw@127.0.0.1/shop
target:
  url: oracle://x
tabels: []
`;
    const issues = issuesOf(() => parsePlan(text, 'plan.yaml', {}));
    expect(issues.map((i) => `${i.line}:${i.col} ${i.path}`)).toEqual([
      '1:1 tables',
      '1:10 version',
      '2:7 name',
      '6:8 target.url',
      '7:1 tabels',
    ]);
    expect(issues[4]?.message).toContain('did you mean `tables`?');
    expect(issues[3]?.message).toContain('found "oracle://x"');
  });

  it('explains a wrong table source and a wrong column mapping', () => {
    const text = VALID.replace(
      '  - source: orders\n',
      '  - source: { qury: "SELECT 1" }\n    columns: { a: 1 }\n',
    );
    const issues = issuesOf(() => parsePlan(text, 'plan.yaml', ENV));
    expect(issues.map((i) => i.path)).toEqual([
      'tables[0].source.query',
      'tables[0].source.qury',
      'tables[0].columns.a',
    ]);
    expect(issues[1]?.message).toContain('did you mean `query`?');
    expect(issues[2]?.message).toContain('expected false or a string');
  });

  it('prints a plan path one way, for its own errors and for problems the databases find', () => {
    const text = VALID.replace(
      '  - source: orders\n',
      '  - source: orders\n    columns: { "first name": 1 }\n',
    );
    const [issue] = issuesOf(() => parsePlan(text, 'plan.yaml', ENV));
    expect(issue?.path).toBe('tables[0].columns["first name"]');
    // mapping.ts reports a missing column by this path, and the CLI prints it at the plan's line.
    expect(renderPlanPath(['tables', 0, 'columns', 'first name'])).toBe(issue?.path);
    expect(renderPlanPath(['tables', 1, 'cache', 'key'])).toBe('tables[1].cache.key');
  });

  it('reports the schema refinements once the structure is right', () => {
    const text = VALID.replace('    cache:\n      key: "order:{id}"\n', '');
    const [issue] = issuesOf(() => parsePlan(text, 'plan.yaml', ENV));
    expect(issue).toMatchObject({ path: 'tables[0].cache.key', line: 11, col: 5 });
    expect(issue?.message).toContain('required when cache.warm is read-through');
  });

  it('reports YAML syntax errors with their positions', () => {
    const text = 'version: 1\nname: "unterminated\nsource:\n  url: [a, b\n';
    const issues = issuesOf(() => parsePlan(text, 'bad.yaml', {}));
    expect(issues.length).toBeGreaterThan(0);
    for (const issue of issues) {
      expect(issue.file).toBe('bad.yaml');
      expect(issue.line).toBeGreaterThan(0);
      expect(issue.message).toMatch(/^YAML syntax: /);
    }
    expect(issues.some((i) => i.message.includes('quote'))).toBe(true);
  });

  it('reports duplicate keys and tab indentation', () => {
    const dup = issuesOf(() => parsePlan('version: 1\nversion: 1\n', 'p.yaml', {}));
    expect(dup[0]).toMatchObject({ line: 2, col: 1 });
    expect(dup[0]?.message).toContain('unique');
    const tab = issuesOf(() => parsePlan('version: 1\nsource:\n\turl: x\n', 'p.yaml', {}));
    expect(tab.map((i) => i.line)).toContain(3);
  });

  it('says what a plan is for an empty file or a non-map', () => {
    for (const text of ['', '# nothing\n', '- a\n- b\n', 'just text\n']) {
      const [issue] = issuesOf(() => parsePlan(text, 'p.yaml', {}));
      expect(issue?.path).toBe('');
      expect(issue?.message).toContain('a plan is a YAML map with the keys version, name');
    }
  });

  it('never puts a password in a message', () => {
    const secret = 's3cr3t-P4ss';
    const texts = [
      // URL password written in the file, with errors next to it.
      `version: 1\nname: x\nsource:\n  url: mysqlx://shop:${secret}@h/db\ntarget:\n  url: postgres://u:${secret}@h/db\ntables: [{ source: t, where: 5 }]\n`,
      // Password from the environment, in a URL and in cache.password, with a bad value next to them.
      VALID.replace(
        '  distribution: ketama',
        '  distribution: ${SECRET}\n  username: u\n  password: ${SECRET}',
      ),
      // A password key with a wrong type and a syntax error on the password's line.
      `version: 1\ncache:\n  password: ${secret}\n  username: [${secret}\n`,
      `version: 1\ncache:\n  password: [${secret}]\n  username: u\n  ttl: "${secret}"\n`,
    ];
    for (const text of texts) {
      const issues = issuesOf(() =>
        parsePlan(text, 'p.yaml', { SECRET: secret, SHOP_MYSQL_PASSWORD: secret }),
      );
      expect(issues.length).toBeGreaterThan(0);
      const printed = allText(issues) + new PlanError(issues).message;
      expect(printed).not.toContain(secret);
      expect(printed).not.toContain(encodeURIComponent(secret));
    }
  });
});

describe('YAML forms users write', () => {
  it('zeroDates: null (YAML null, ~, or quoted) is the null policy, in defaults and per table', () => {
    for (const form of ['null', '~', 'Null', '"null"']) {
      const text = VALID.replace('tables:', `defaults: { zeroDates: ${form} }\ntables:`).replace(
        '  - source: orders',
        `  - source: orders\n    zeroDates: ${form}`,
      );
      const { plan } = parsePlan(text, 'p.yaml', ENV);
      expect(plan.defaults?.zeroDates).toBe('null');
      expect(resolveTableOptions(plan, plan.tables[0]!).zeroDates).toBe('null');
    }
    const issues = issuesOf(() =>
      parsePlan(VALID.replace('tables:', 'defaults: { zeroDates: nul }\ntables:'), 'p.yaml', ENV),
    );
    expect(allText(issues)).toMatch(/defaults\.zeroDates: expected one of: error, null/);
    // Another enum written as null says what YAML made of it, not "an empty value".
    const nullIssues = issuesOf(() =>
      parsePlan(VALID.replace('tables:', 'defaults: { onConflict: null }\ntables:'), 'p.yaml', ENV),
    );
    expect(allText(nullIssues)).toMatch(/defaults\.onConflict: .*found no value \(YAML null/);
  });
});

describe('suggest', () => {
  it('measures edits, counting a swap of neighbours as one', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('wram', 'warm')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
  });

  it('prefers a case-insensitive match, then the nearest within the limit', () => {
    expect(suggest('TTL', ['ttl', 'tl'])).toBe('ttl');
    expect(suggest('tabels', ['tables', 'target'])).toBe('tables');
    expect(suggest('xyz', ['ttl', 'key'])).toBeUndefined();
    expect(suggest('ab', ['xy'])).toBeUndefined();
  });
});
