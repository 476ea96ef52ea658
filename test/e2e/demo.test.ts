// The README's quick start, exactly: `npm run demo` in the repository root, with nothing but Node. It must
// exit 0, print a summary with every source row written, cached and verified, then a second run with
// nothing left to do; and the target must equal the source (checked here in SQL, not by the tool).
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TABLES = ['customers', 'orders', 'order_items'];

function npmRunDemo(): Promise<{ code: number | null; output: string; seconds: number }> {
  const started = Date.now();
  return new Promise((done) => {
    const child = spawn('npm', ['run', 'demo'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, output, seconds: (Date.now() - started) / 1000 });
    });
  });
}

interface SummaryRow {
  read: number;
  written: number;
  cached: number;
  verified: number;
  mismatches: number;
  skipped: number;
  notCached: number;
}

/** Every summary table in the output: table name -> counts. */
function summaries(output: string): Map<string, SummaryRow>[] {
  const head =
    /^table\s+read\s+written\s+cached\s+verified\s+mismatches\s+skipped\s+not cached\s+time\s+rows\/s$/m;
  return output
    .split(head)
    .slice(1)
    .map((block) => {
      const rows = new Map<string, SummaryRow>();
      for (const line of block.split('\n').slice(2)) {
        if (!line.trim()) break;
        const [table, ...cells] = line.trim().split(/\s{2,}/);
        const n = cells.slice(0, 7).map((c) => Number(c.replaceAll(',', '')));
        rows.set(table!, {
          read: n[0]!,
          written: n[1]!,
          cached: n[2]!,
          verified: n[3]!,
          mismatches: n[4]!,
          skipped: n[5]!,
          notCached: n[6]!,
        });
      }
      return rows;
    });
}

describe('npm run demo', () => {
  it('migrates the demo databases with every row written, cached and verified, then resumes with nothing to do', async () => {
    const run = await npmRunDemo();
    expect(run.code, run.output).toBe(0);

    // Not read-only: only a read-write connection removes the attached WAL target's -wal/-shm files on close.
    const source = new Database(join(ROOT, 'examples/demo-source.db'));
    try {
      const counts = new Map(
        TABLES.map((t) => [t, Number(source.prepare(`SELECT count(*) FROM ${t}`).pluck().get())]),
      );
      const total = [...counts.values()].reduce((a, b) => a + b, 0);
      expect(total).toBeGreaterThanOrEqual(100_000);
      expect(total).toBeLessThanOrEqual(160_000);

      const [first, second, verify, ...more] = summaries(run.output);
      expect(more, 'two runs and a verify: three summaries').toHaveLength(0);
      for (const table of TABLES) {
        const n = counts.get(table)!;
        expect(first!.get(table), table).toEqual({
          read: n,
          written: n,
          cached: n,
          verified: n,
          mismatches: 0,
          skipped: 0,
          notCached: 0,
        });
        expect(second!.get(table), table).toMatchObject({ read: 0, written: 0, mismatches: 0 });
        expect(verify!.get(table), table).toMatchObject({ read: n, verified: n, mismatches: 0 });
      }
      expect(run.output).toMatch(/again: it resumes from the checkpoints, and nothing is left to do/);
      expect(run.output).toMatch(/already complete/);

      // Independently of the tool: the target holds exactly the source rows, storage classes included.
      source.exec(
        `ATTACH DATABASE '${join(ROOT, 'examples/demo-target.db').replaceAll("'", "''")}' AS target`,
      );
      for (const table of TABLES) {
        const cols = (source.prepare(`PRAGMA main.table_info(${table})`).all() as { name: string }[]).map(
          (c) => `typeof("${c.name}"), "${c.name}"`,
        );
        const select = (db: string) => `SELECT ${cols.join(', ')} FROM ${db}.${table}`;
        const diff = (a: string, b: string) =>
          Number(
            source
              .prepare(`SELECT count(*) FROM (${select(a)} EXCEPT ${select(b)})`)
              .pluck()
              .get(),
          );
        expect({ table, missing: diff('main', 'target'), extra: diff('target', 'main') }).toEqual({
          table,
          missing: 0,
          extra: 0,
        });
        expect(Number(source.prepare(`SELECT count(*) FROM target.${table}`).pluck().get())).toBe(
          counts.get(table),
        );
      }
    } finally {
      source.close();
    }
    // "Well under a minute on a laptop", build included.
    expect(run.seconds).toBeLessThan(60);
  });
});
