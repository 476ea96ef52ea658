// biome-ignore-all lint/suspicious/noTemplateCurlyInString: plans use `${NAME}` interpolation.
// Fuzzing the plan loader: valid plans mutated at random (characters deleted, inserted and replaced, lines
// shuffled, truncated, re-indented, random bytes, huge values, deep nesting, YAML's odd corners). The loader
// must return a plan or throw a PlanError whose every issue has a position — never another exception, never
// hang. Deterministic: a seeded PRNG (FUZZ_SEED overrides the seed, FUZZ_CASES the number of cases).
// Then the BUILT CLI (`validate --offline`) on a sample of the mutated files: exit 0 or 2, no stack trace.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { PlanError } from '../../src/errors.js';
import { parsePlan } from '../../src/plan/load.js';
import { CLI, runCli } from '../helpers/cli.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed_2024);
const CASES = Number(process.env.FUZZ_CASES ?? 3000);
const CLI_SAMPLE = 50;
const ENV = { SHOP_MYSQL_PASSWORD: 'fuzz-pw', FUZZ_VAR: '42' };

const SMALL_PLANS = [
  `version: 1
name: small
source:
  url: postgres://u:p@127.0.0.1:5432/a
target:
  url: mysql://u:\${FUZZ_VAR}@127.0.0.1:3306/b
tables:
  - source: orders
`,
  `version: 1
name: flow-style
source: { url: "mysql://shop:\${SHOP_MYSQL_PASSWORD}@db:3306/shop" }
target: { url: "postgres://shop:\${PG_PW:-shop}@db/shop" }
cache: { servers: [a:11211, "b:11212"], distribution: modula, ttl: \${TTL:-60}, warm: write-through }
defaults: { batchSize: 1000, onConflict: skip, verify: none, zeroDates: null, invalid: skip }
tables:
  - { source: { query: "SELECT id, name FROM t WHERE x > 0" }, target: t2, key: [id], cache: { key: "t:{id}", value: "column:name" } }
state: { table: my_state }
`,
  `version: 1
name: mapping
source:
  url: sqlite:src.db
target:
  url: sqlite:dst.db
cache:
  driver: memory
  prefix: 'p:'
  longKeys: hash
tables:
  - source: a.b
    target: c.d
    where: "created_at >= '2024-01-01' AND note <> '$$\${literal}'"
    columns:
      legacy: false
      cust_id: customer_id
    batchSize: 10
    createTables: true
    cache:
      key: "a:{id}:{cust_id}"
      ttl: 0
`,
];

const SEEDS = [
  readFileSync(join(ROOT, 'migrations.example.yaml'), 'utf8'),
  readFileSync(join(ROOT, 'examples/demo.yaml'), 'utf8'),
  ...SMALL_PLANS,
];

/** mulberry32: small, fast, good enough to pick mutations reproducibly. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rng = () => number;
const int = (rng: Rng, n: number) => Math.floor(rng() * n);
const pick = <T>(rng: Rng, items: readonly T[]): T => items[int(rng, items.length)]!;

/** Pieces that mean something to YAML, to the interpolation, or to a careless parser. */
const TOKENS = [
  ':',
  ': ',
  '-',
  '- ',
  ' ',
  '\n',
  '\t',
  '\r',
  '[',
  ']',
  '{',
  '}',
  ',',
  '#',
  '&a',
  '*a',
  '!',
  '!!str ',
  '|',
  '>-',
  "'",
  '"',
  '%',
  '@',
  '`',
  '?',
  '? ',
  '$',
  '${',
  '${X}',
  '${FUZZ_VAR}',
  '${UNSET}',
  '${A:-}',
  '$${',
  '\\',
  '\\u',
  '\u0000',
  '\u0007',
  '\uFEFF',
  '\u2028',
  '\u00e9',
  '\u{1F600}',
  '\uD800',
  '<<: ',
  '---',
  '...',
  '~',
  'null',
  'true',
  'no',
  '0x1F',
  '0o17',
  '1e999',
  '-1',
  '.inf',
  '.nan',
  '2024-01-01',
  'version',
  'tables',
  'source',
  'url',
  'key',
  'cache',
  'a',
  'Z',
  '0',
  '9',
];

const YAML_ODDITIES = [
  'a: &x [1, 2]\nb: *x\n',
  'x: *missing\n',
  'r: &r [*r]\n',
  'm: &m { k: 1 }\nn: { <<: *m, k: 2 }\n',
  'bin: !!binary aGVsbG8=\n',
  'set: !!set { a, b }\n',
  'om: !!omap [ a: 1, b: 2 ]\n',
  'ts: !!timestamp 2001-12-14t21:59:43.10-05:00\n',
  'tag: !custom value\n',
  '---\nsecond: document\n',
  '%YAML 1.2\n---\n',
  '%TAG ! tag:example.com,2000:\n---\n',
  '? [complex, key]\n: value\n',
  '? |\n  block key\n: v\n',
  '"quoted\\x": 1\n',
  'k: "unterminated\n',
  "k: 'it''s'\n",
  'k: |+\n  keep\n\n',
  'k: >2\n   folded\n',
  '__proto__: { polluted: true }\n',
  'constructor: { prototype: 1 }\n',
  'toString: 1\n',
  'version: 1\nversion: 2\n',
];

/** One random mutation of `text`, and its name (for the report). */
const MUTATIONS: [string, (text: string, rng: Rng) => string][] = [
  [
    'delete',
    (t, rng) => {
      const at = int(rng, t.length + 1);
      return t.slice(0, at) + t.slice(at + 1 + int(rng, 5));
    },
  ],
  [
    'insert',
    (t, rng) => {
      const at = int(rng, t.length + 1);
      return t.slice(0, at) + pick(rng, TOKENS) + t.slice(at);
    },
  ],
  [
    'replace',
    (t, rng) => {
      const at = int(rng, t.length);
      return t.slice(0, at) + pick(rng, TOKENS) + t.slice(at + 1);
    },
  ],
  [
    'swap-lines',
    (t, rng) => {
      const lines = t.split('\n');
      const i = int(rng, lines.length);
      const j = int(rng, lines.length);
      [lines[i], lines[j]] = [lines[j]!, lines[i]!];
      return lines.join('\n');
    },
  ],
  [
    'shuffle-lines',
    (t, rng) => {
      const lines = t.split('\n');
      for (let i = lines.length - 1; i > 0; i--) {
        const j = int(rng, i + 1);
        [lines[i], lines[j]] = [lines[j]!, lines[i]!];
      }
      return lines.join('\n');
    },
  ],
  ['truncate', (t, rng) => t.slice(0, int(rng, t.length + 1))],
  [
    'indent',
    (t, rng) => {
      const lines = t.split('\n');
      const i = int(rng, lines.length);
      const line = lines[i]!;
      const r = int(rng, 4);
      lines[i] =
        r === 0
          ? ' '.repeat(1 + int(rng, 4)) + line
          : r === 1
            ? line.replace(/^ {1,4}/, '')
            : r === 2
              ? `\t${line}`
              : line.trimStart();
      return lines.join('\n');
    },
  ],
  [
    'random-bytes',
    (t, rng) => {
      const bytes = Buffer.from(Array.from({ length: 1 + int(rng, 64) }, () => int(rng, 256)));
      const at = int(rng, t.length + 1);
      const decoded = rng() < 0.5 ? bytes.toString('latin1') : bytes.toString('utf8');
      return t.slice(0, at) + decoded + t.slice(at + int(rng, 16));
    },
  ],
  [
    'huge-value',
    (t, rng) => {
      const lines = t.split('\n');
      const candidates = lines.map((l, i) => (/^\s*[\w-]+:\s*\S/.test(l) ? i : -1)).filter((i) => i >= 0);
      if (candidates.length === 0) return t;
      const i = pick(rng, candidates);
      const huge = pick(rng, [
        () => 'x'.repeat(50_000 + int(rng, 150_000)),
        () => '9'.repeat(400),
        () => `-${'9'.repeat(400)}`,
        () => '1e400',
        () => `"${'\\u00e9'.repeat(20_000)}"`,
        () => `[${Array.from({ length: 2_000 }, (_, k) => k).join(', ')}]`,
        () => `${'${FUZZ_VAR}'.repeat(5_000)}`,
      ])();
      lines[i] = lines[i]!.replace(/:\s*.*$/, `: ${huge}`);
      return lines.join('\n');
    },
  ],
  [
    'huge-key',
    (t, rng) => {
      const at = t.indexOf('\n', int(rng, t.length)) + 1;
      return `${t.slice(0, at)}${'k'.repeat(10_000 + int(rng, 50_000))}: 1\n${t.slice(at)}`;
    },
  ],
  [
    'deep-nesting',
    (t, rng) => {
      // Mostly around the loader's limit (64 levels); now and then thousands, which overflow the YAML
      // parser's own recursion in block context (3,000 levels of `- ` closed by a dedent).
      const r = int(rng, 4);
      const depth =
        rng() < 0.1 && r === 3 ? 3_000 + int(rng, 3_000) : 5 + int(rng, rng() < 0.5 ? 100 : 1_000);
      const value =
        r === 0
          ? '['.repeat(depth) + ']'.repeat(rng() < 0.8 ? depth : int(rng, depth))
          : r === 1
            ? '{a: '.repeat(depth) + '}'.repeat(rng() < 0.8 ? depth : int(rng, depth))
            : r === 2
              ? `\n${Array.from({ length: Math.min(depth, 400) }, (_, k) => `${'  '.repeat(k + 1)}k${k}:`).join('\n')} 1`
              : `\n  ${'- '.repeat(depth)}x`;
      const lines = t.split('\n');
      const i = int(rng, lines.length + 1);
      lines.splice(i, 0, `deep${i}: ${value}`);
      return lines.join('\n');
    },
  ],
  [
    'yaml-oddity',
    (t, rng) => {
      const lines = t.split('\n');
      lines.splice(int(rng, lines.length + 1), 0, pick(rng, YAML_ODDITIES));
      return lines.join('\n');
    },
  ],
  [
    'duplicate-block',
    (t, rng) => {
      const lines = t.split('\n');
      const i = int(rng, lines.length);
      const block = lines.slice(i, i + 1 + int(rng, 8));
      lines.splice(int(rng, lines.length + 1), 0, ...block);
      return lines.join('\n');
    },
  ],
];

function randomFile(rng: Rng): string {
  const bytes = Buffer.from(Array.from({ length: int(rng, 600) }, () => int(rng, 256)));
  return rng() < 0.5 ? bytes.toString('latin1') : bytes.toString('utf8');
}

interface Case {
  index: number;
  mutations: string[];
  text: string;
}

function makeCases(): Case[] {
  const rng = prng(SEED);
  const cases: Case[] = [];
  for (let index = 0; index < CASES; index++) {
    if (rng() < 0.03) {
      cases.push({ index, mutations: ['random-file'], text: randomFile(rng) });
      continue;
    }
    let text = pick(rng, SEEDS);
    const mutations: string[] = [];
    for (let n = 1 + int(rng, 3); n > 0; n--) {
      const [name, mutate] = pick(rng, MUTATIONS);
      mutations.push(name);
      text = mutate(text, rng);
    }
    cases.push({ index, mutations, text });
  }
  return cases;
}

interface Crash {
  index: number;
  mutations: string[];
  error: string;
  file?: string;
}

const scratch = mkdtempSync(join(tmpdir(), 'plan-fuzz-'));
let crashesFound = false;
afterAll(() => {
  // Crashing inputs stay on disk for the report; otherwise nothing is left behind.
  if (!crashesFound) rmSync(scratch, { recursive: true, force: true });
});

describe('plan loader fuzz', () => {
  const cases = makeCases();

  it(`parsePlan on ${CASES} mutated plans: a plan or a positioned PlanError, nothing else`, () => {
    let planErrors = 0;
    let valid = 0;
    let slowest = { ms: 0, index: -1 };
    const crashes: Crash[] = [];
    const started = Date.now();
    for (const c of cases) {
      const t = performance.now();
      try {
        parsePlan(c.text, 'fuzz.yaml', ENV);
        valid++;
      } catch (error) {
        if (error instanceof PlanError) {
          planErrors++;
          const lines = c.text.split('\n').length;
          const bad = error.issues.filter(
            (i) =>
              !Number.isInteger(i.line) ||
              !Number.isInteger(i.col) ||
              i.line < 1 ||
              i.col < 1 ||
              i.line > lines + 1 ||
              i.file !== 'fuzz.yaml' ||
              typeof i.message !== 'string' ||
              i.message === '',
          );
          if (error.issues.length === 0 || bad.length > 0) {
            crashes.push({ ...c, error: `PlanError without a valid position: ${JSON.stringify(bad)}` });
          }
        } else {
          const e = error as Error;
          crashes.push({ ...c, error: `${e?.name}: ${e?.message}\n${e?.stack ?? ''}` });
        }
      }
      const ms = performance.now() - t;
      if (ms > slowest.ms) slowest = { ms, index: c.index };
    }
    const seconds = (Date.now() - started) / 1000;
    for (const crash of crashes) {
      crash.file = join(scratch, `crash-${crash.index}.yaml`);
      writeFileSync(crash.file, cases[crash.index]!.text);
    }
    crashesFound = crashes.length > 0;
    console.log(
      `plan fuzz (seed ${SEED}): ${cases.length} plans tried, ${planErrors} PlanErrors, ${valid} valid, ` +
        `${crashes.length} crashes; ${seconds.toFixed(1)} s, slowest case #${slowest.index} ${slowest.ms.toFixed(0)} ms`,
    );
    expect(
      crashes.map((c) => `#${c.index} [${c.mutations.join(', ')}] ${c.file}: ${c.error.slice(0, 400)}`),
    ).toEqual([]);
    expect(planErrors + valid).toBe(cases.length);
    // Mutations must mostly break the plans, and some must survive: otherwise the fuzzer tests nothing.
    expect(planErrors).toBeGreaterThan(cases.length / 3);
    expect(valid).toBeGreaterThan(0);
    expect(slowest.ms).toBeLessThan(5_000); // nothing near a hang
  }, 120_000);

  // Inputs that crashed the loader before (found by this fuzzer): each must now be a positioned PlanError.
  it.each([
    [
      '3,000 nested `- ` closed by a dedent (the YAML parser recursion)',
      `a:\n  ${'- '.repeat(3_000)}x\nb: 1\n`,
    ],
    [
      '3,000 nested block maps closed by a dedent',
      `${Array.from({ length: 3_000 }, (_, i) => `${' '.repeat(i)}a:`).join('\n')}\nb: 1\n`,
    ],
    ['5,000 nested flow sequences', `version: 1\nname: ${'['.repeat(5_000)}${']'.repeat(5_000)}\n`],
    ['an alias without its anchor', 'version: 1\nname: *missing\n'],
    ['an alias inside its own anchor', 'version: 1\nname: &n [*n]\n'],
    ['a merge key of its own map', 'version: 1\nsource: &s\n  <<: *s\n'],
    [
      'aliases expanding to 10^5 items',
      `a: &a [${'x,'.repeat(9)}x]\n${['b', 'c', 'd', 'e'].map((k, i) => `${k}: &${k} [${`*${'abcd'[i]},`.repeat(9)}*${'abcd'[i]}]`).join('\n')}\n`,
    ],
  ])('%s: a PlanError with a position', (_label, text) => {
    let error: unknown;
    try {
      parsePlan(text, 'fuzz.yaml', ENV);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PlanError);
    for (const issue of (error as PlanError).issues) {
      expect(issue.line).toBeGreaterThanOrEqual(1);
      expect(issue.col).toBeGreaterThanOrEqual(1);
    }
  });

  it.skipIf(!existsSync(CLI))(
    `the built CLI, validate --offline, on ${CLI_SAMPLE} mutated files: exit 0 or 2, no stack trace`,
    async () => {
      const step = Math.max(1, Math.floor(cases.length / CLI_SAMPLE));
      const sample = cases.filter((c) => c.index % step === 0).slice(0, CLI_SAMPLE);
      const failures: string[] = [];
      const codes = new Map<number | null, number>();
      let next = 0;
      const worker = async () => {
        while (next < sample.length) {
          const c = sample[next++]!;
          const file = join(scratch, `case-${c.index}.yaml`);
          writeFileSync(file, c.text);
          const r = await runCli(['validate', file, '--offline'], { env: ENV, timeoutMs: 30_000 });
          codes.set(r.code, (codes.get(r.code) ?? 0) + 1);
          const problems: string[] = [];
          if (r.code !== 0 && r.code !== 2) problems.push(`exit ${r.code} (signal ${r.signal})`);
          if (/^\s+at /m.test(r.stderr)) problems.push('stack trace on stderr');
          if (/unexpected failure/.test(r.stderr)) problems.push('unexpected failure');
          if (r.code === 2 && !/case-\d+\.yaml:\d+:\d+/.test(r.stderr)) problems.push('no position');
          if (problems.length > 0) {
            crashesFound = true;
            failures.push(
              `#${c.index} [${c.mutations.join(', ')}] ${file}: ${problems.join(', ')}\n${r.stderr}`,
            );
          }
        }
      };
      await Promise.all([worker(), worker(), worker()]);
      console.log(
        `plan fuzz, CLI: ${sample.length} files, exit codes ${[...codes].map(([k, v]) => `${k}×${v}`).join(', ')}`,
      );
      expect(failures).toEqual([]);
    },
    120_000,
  );
});
