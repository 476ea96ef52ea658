// The text sink prints every mode's output, `run --dry-run` included: what it writes to stdout and stderr
// for the events of a dry run and the end of a run, with and without --quiet.
import { describe, expect, it } from 'vitest';
import { TextSink } from '../../src/cli/output/sinks.js';
import { emptyCounts, type MigrateEvent, type TrialResult } from '../../src/engine/events.js';

function capture(quiet: boolean): { sink: TextSink; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const sink = new TextSink({
    progress: false,
    quiet,
    verbose: false,
    stdout: { write: (s: string) => out.push(s) },
    stderr: { write: (s: string) => err.push(s) },
  });
  return { sink, out, err };
}

function trial(table: string, mismatchKeys: number[]): TrialResult {
  return {
    table,
    estimatedRows: 12345,
    key: ['id'],
    sampled: 100,
    converted: 100,
    rejected: 0,
    wouldWrite: 100,
    mismatches: mismatchKeys.map((k) => ({ table, key: `id=${k}`, in: 'target', problem: 'different' })),
    cacheKeys: 0,
    cacheSkipped: {},
    sampleKey: null,
    maxKeyBytes: 0,
    maxValueBytes: 0,
    nulled: 0,
    createSql: null,
  };
}

const start: MigrateEvent = {
  event: 'run-start',
  plan: 'p',
  source: 's',
  target: 't',
  tables: ['a', 'b'],
  dryRun: true,
};
const keys = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

describe('TextSink, dry run', () => {
  it('prints the banner, each table, the first 20 mismatching rows of all tables, and the verdict', () => {
    const { sink, out, err } = capture(false);
    sink.emit(start);
    sink.emit({ event: 'dry-run-table', ...trial('a', keys(1, 15)) });
    sink.emit({ event: 'dry-run-table', ...trial('b', keys(100, 10)) });
    sink.emit({ event: 'summary', dryRun: true, ok: false, tables: 2 });
    expect(out.join('')).toBe(
      'dry run of plan p: nothing was written (trial transactions rolled back), no cache touched, no state table created\n' +
        '  a: ~12,345 rows, key id\n    sample of 100 rows: 100 converted, 0 rejected, 100 would be written\n' +
        '  b: ~12,345 rows, key id\n    sample of 100 rows: 100 converted, 0 rejected, 100 would be written\n',
    );
    expect(err).toHaveLength(20);
    expect(err[0]).toBe('mismatch: a id=1: the target would hold a different row\n');
    expect(err[19]).toBe('mismatch: b id=104: the target would hold a different row\n');
  });

  it('ends with "a real run can start." when ok; --quiet keeps only that line and the problems', () => {
    const loud = capture(false);
    loud.sink.emit(start);
    loud.sink.emit({ event: 'summary', dryRun: true, ok: true, tables: 0 });
    expect(loud.out.at(-1)).toBe('a real run can start.\n');

    const quiet = capture(true);
    quiet.sink.emit(start);
    quiet.sink.emit({ event: 'dry-run-table', ...trial('a', [7]) });
    quiet.sink.emit({ event: 'summary', dryRun: true, ok: true, tables: 1 });
    expect(quiet.out).toEqual(['a real run can start.\n']);
    expect(quiet.err).toEqual(['mismatch: a id=7: the target would hold a different row\n']);
  });
});

describe('TextSink, end of a run', () => {
  it('prints the summary table and the report files, also with --quiet', () => {
    const { sink, out } = capture(true);
    const counts = { ...emptyCounts(), read: 3, written: 3 };
    sink.emit({
      event: 'summary',
      ok: true,
      interrupted: false,
      tables: [{ table: 'a', counts, seconds: 1, complete: false }],
      seconds: 1,
      reportFiles: ['p.rejects.ndjson'],
    });
    expect(out.join('')).toMatch(
      /^\ntable +read .*\n-+ .*\na \(unfinished\) +3 +3 .*\nreport: p\.rejects\.ndjson\n$/,
    );
  });
});
