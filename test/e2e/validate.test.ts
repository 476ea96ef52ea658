// biome-ignore-all lint/suspicious/noTemplateCurlyInString: plans use `${NAME}` interpolation.
// `migrate validate` and the CLI's basics, run as a child process of the BUILT CLI (dist/cli/entry.js):
// exit codes, stdout and stderr exactly as a user or a CI job sees them.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = join(ROOT, 'dist/cli/entry.js');
const SECRET = 's3cr3t-P4ss';

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

let dir: string;

/** Runs the CLI in `cwd` (the temp dir by default) with a clean, controlled environment. */
function migrate(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): Result {
  const env: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'SYSTEMROOT', 'TMPDIR']) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  const child = spawnSync(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? dir,
    env: { ...env, NO_COLOR: '1', ...options.env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: child.status, stdout: child.stdout, stderr: child.stderr };
}

function plan(name: string, text: string): string {
  writeFileSync(join(dir, name), text);
  return name;
}

function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((entry) => newestMtime(join(path, entry))));
}

/** `npm test` builds first (pretest); when this file is run on its own, rebuild a stale dist. */
function ensureBuilt(): void {
  let built = 0;
  try {
    built = statSync(BIN).mtimeMs;
  } catch {}
  if (built >= newestMtime(join(ROOT, 'src'))) return;
  // tsc emits even when some file has type errors; only a missing bin is fatal here.
  spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
    cwd: ROOT,
    stdio: 'ignore',
  });
  statSync(BIN);
}

const VALID = `version: 1
name: shop-to-pg
source:
  url: mysql://shop:\${SHOP_MYSQL_PASSWORD:-shop}@127.0.0.1:3306/shop
target:
  url: postgres://shop:${SECRET}@127.0.0.1:5432/shop
cache:
  servers: [127.0.0.1:11211, 127.0.0.1:11212, 127.0.0.1:11213]
  distribution: ketama
  ttl: 86400
  prefix: "shop:"
  warm: read-through
tables:
  - source: orders
    cache:
      key: "order:{id}"
`;

beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'migrate-validate-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('migrate validate --offline', () => {
  it('runs as the installed command: bin/migrate.js, started by sh with its heap flag, exits with the code', () => {
    const bin = join(ROOT, 'bin/migrate.js');
    const r = spawnSync(bin, ['validate', 'migrations.example.yaml', '--offline'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('plan shop-to-pg');
    const traced = spawnSync('sh', ['-x', bin, '--version'], { cwd: ROOT, encoding: 'utf8' });
    expect(traced.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    expect(traced.stderr).toContain('exec node --max-semi-space-size=4 --heap-growing-percent=100');
    expect(spawnSync(bin, ['validate', 'missing.yaml', '--offline'], { cwd: ROOT }).status).toBe(2);
  });

  it('importing dist/cli/main.js starts nothing: it exports main and start for an entry point to call', () => {
    const url = pathToFileURL(join(ROOT, 'dist/cli/main.js')).href;
    const r = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(url)}); console.log(typeof m.main, typeof m.start);`,
      ],
      { cwd: ROOT, encoding: 'utf8' },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('function function\n');
    expect(r.status).toBe(0);
  });

  it('accepts migrations.example.yaml', () => {
    const r = migrate(['validate', 'migrations.example.yaml', '--offline'], { cwd: ROOT });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('plan shop-to-pg');
    expect(r.stdout).toContain('mysql://shop:***@127.0.0.1:3306/shop');
    expect(r.stdout).toMatch(/orders -> orders/);
  });

  it('points a misspelt key at its line and column, with its path and a suggestion', () => {
    const text = VALID.replace('  prefix: "shop:"', '  prefix: "shop:"\n  overwite: true');
    expect(text.split('\n')[11]).toBe('  overwite: true'); // line 12
    const r = migrate(['validate', plan('plan.yaml', text), '--offline']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(
      'plan.yaml:12:3: cache.overwite: unknown key `overwite`: did you mean `overwrite`?',
    );
  });

  it('names a missing environment variable and where it is used', () => {
    const text = VALID.replace('${SHOP_MYSQL_PASSWORD:-shop}', '${SHOP_MYSQL_PASSWORD}');
    const r = migrate(['validate', plan('env.yaml', text), '--offline']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'env.yaml:4:21: source.url: environment variable SHOP_MYSQL_PASSWORD is not set',
    );
    const set = migrate(['validate', 'env.yaml', '--offline'], {
      env: { SHOP_MYSQL_PASSWORD: 'pw-from-env' },
    });
    expect(set.code).toBe(0);
    expect(set.stdout + set.stderr).not.toContain('pw-from-env');
  });

  it('reports malformed YAML with its position and no stack trace', () => {
    const r = migrate(['validate', plan('broken.yaml', 'version: 1\nname: "shop\nsource: [\n'), '--offline']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/broken\.yaml:\d+:\d+: YAML syntax: /);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(r.stderr).not.toContain('node_modules');
  });

  it('names a plan file that does not exist', () => {
    const r = migrate(['validate', 'missing.yaml', '--offline']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('missing.yaml');
    expect(r.stderr).toContain('cannot read the plan file: no such file');
  });

  it('never prints a password, for a valid plan or an invalid one, in any format', () => {
    const valid = plan('secret.yaml', VALID);
    const invalid = plan(
      'secret-bad.yaml',
      VALID.replace('mysql://', 'mysqlx://').replace('ketama', 'ketma'),
    );
    const runs = [
      migrate(['validate', valid, '--offline']),
      migrate(['validate', valid, '--offline', '--json']),
      migrate(['validate', valid]),
      migrate(['validate', invalid, '--offline']),
      migrate(['validate', invalid, '--offline', '--json']),
      migrate(['validate', invalid, '--offline', '--format', 'github']),
      migrate(['validate', invalid, '--offline'], { env: { SHOP_MYSQL_PASSWORD: SECRET } }),
    ];
    expect(runs.map((r) => r.code)).toEqual([0, 0, 1, 2, 2, 2, 2]);
    for (const r of runs) {
      expect(r.stdout + r.stderr).not.toContain(SECRET);
      expect(r.stdout + r.stderr).not.toContain('P4ss');
    }
    expect(runs[0]?.stdout).toContain('postgres://shop:***@127.0.0.1:5432/shop');
  });

  it('--json prints one event per line: the plan on success, each issue on failure', () => {
    const ok = migrate(['validate', plan('json.yaml', VALID), '--offline', '--json']);
    expect(ok.code).toBe(0);
    const [event, ...more] = ok.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(more).toEqual([]);
    expect(event).toMatchObject({
      event: 'validate',
      ok: true,
      plan: 'shop-to-pg',
      tables: [{ target: 'orders' }],
    });

    const text = VALID.replace('ketama', 'ketma').replace(
      '  - source: orders',
      '  - source: orders\n    batchSize: 0',
    );
    const bad = migrate(['validate', plan('json-bad.yaml', text), '--offline', '--json']);
    expect(bad.code).toBe(2);
    const events = bad.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events).toEqual([
      {
        event: 'plan-error',
        file: 'json-bad.yaml',
        line: 9,
        col: 17,
        path: 'cache.distribution',
        message: expect.stringContaining('expected one of: modula, ketama'),
      },
      {
        event: 'plan-error',
        file: 'json-bad.yaml',
        line: 15,
        col: 16,
        path: 'tables[0].batchSize',
        message: 'expected a number > 0; found the number 0',
      },
      { event: 'validate', ok: false, errors: 2 },
      {
        event: 'error',
        exitCode: 2,
        error: 'PlanError',
        message: expect.stringContaining('the plan has 2 errors'),
        hint: expect.any(String),
        issues: expect.arrayContaining([expect.objectContaining({ path: 'tables[0].batchSize' })]),
      },
    ]);
  });

  it('prints GitHub annotations with --format github or under GitHub Actions', () => {
    const file = plan('gh.yaml', VALID.replace('ketama', 'ketma'));
    for (const r of [
      migrate(['validate', file, '--offline', '--format', 'github']),
      migrate(['validate', file, '--offline'], { env: { GITHUB_ACTIONS: 'true' } }),
    ]) {
      expect(r.code).toBe(2);
      expect(r.stdout.split('\n')[0]).toBe(
        '::error file=gh.yaml,line=9,col=17::cache.distribution: expected one of: modula, ketama; ' +
          'found "ketma": did you mean `ketama`?',
      );
      expect(r.stderr).toContain('gh.yaml:9:17: cache.distribution');
    }
  });
});

describe('migrate validate (online)', () => {
  it('an unreachable server is exit 1, named, with the password masked', () => {
    const text = VALID.replace(
      'mysql://shop:${SHOP_MYSQL_PASSWORD:-shop}@127.0.0.1:3306/shop',
      `postgres://shop:${SECRET}@127.0.0.1:1/shop`,
    );
    const r = migrate(['validate', plan('online.yaml', text)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/postgres:\/\/shop:\*\*\*@127\.0\.0\.1:(1|5432)\/shop: cannot connect/);
    expect(r.stderr).toContain('cannot connect to PostgreSQL');
    expect(r.stdout + r.stderr).not.toContain(SECRET);
  });

  it('still reports plan errors first, with exit 2', () => {
    const r = migrate(['validate', plan('online-bad.yaml', VALID.replace('version: 1', 'version: 3'))]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('online-bad.yaml:1:10: version: expected 1');
  });
});

describe('the CLI', () => {
  it.each([[['--help']], [['run', '--help']], [['validate', '--help']], [['--version']]])(
    '%j exits 0',
    (args) => {
      const r = migrate(args);
      expect(r.code).toBe(0);
      expect(r.stdout.length).toBeGreaterThan(0);
    },
  );

  it('--version prints the package version', () => {
    expect(migrate(['--version']).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('an unknown command is a usage error', () => {
    const r = migrate(['frobnicate', 'plan.yaml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('frobnicate');
  });
});
