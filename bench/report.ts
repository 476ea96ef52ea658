/** The bench's results: medians, ratios against (1) and (2), the issue's targets with pass/fail. */
import type { Measurement } from './cases.js';

export interface CaseResult {
  id: string;
  num: string;
  label: string;
  migrate: boolean;
  /** True when the case reads from MariaDB/MySQL (its pgloader counterpart is then (7b), else (7a)). */
  mysqlSource?: boolean;
  /** Rows the case moves when not the run's `--rows` (the wide cases: `--wide-rows`). */
  rows?: number;
  runs: Measurement[];
  skipped?: string;
  failed?: string;
  medianSeconds?: number;
  rowsPerSec?: number;
  vsCopy?: number;
  vsBaseline?: number;
  peakRssMb?: number;
  rssNote?: string;
}

/** What `npm run bench` writes to results.json (and, with --json, to stdout); perf-doc.ts renders it. */
export interface BenchReport {
  rows: number;
  wideRows?: number;
  repeat: number;
  commit: string;
  srcFilesChanged: number;
  /** The command line that produced the run (absent in runs before it was recorded). */
  command?: string;
  startedAt?: string;
  endedAt?: string;
  node?: string;
  machine: { cores: number; cpuModel?: string; totalMemGiB: number };
  /** 1/5/15-minute load averages at the start and the end of the run. */
  load: { start: number[]; end: number[] };
  cases: CaseResult[];
  targets: Target[];
}

export interface Target {
  text: string;
  value?: number;
  want: number;
  /** 'min': value ≥ want; 'max': value ≤ want. */
  kind: 'min' | 'max';
  pass?: boolean;
  note?: string;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function finishResults(results: CaseResult[], rows: number): void {
  for (const r of results) {
    if (r.runs.length === 0) continue;
    r.medianSeconds = median(r.runs.map((m) => m.seconds));
    r.rowsPerSec = (r.rows ?? rows) / r.medianSeconds;
    r.peakRssMb = Math.max(...r.runs.map((m) => m.rssMb));
    r.rssNote = r.runs.find((m) => m.rssNote)?.rssNote;
  }
  const copy = results.find((r) => r.num === '1')?.rowsPerSec;
  const base = results.find((r) => r.num === '2')?.rowsPerSec;
  for (const r of results) {
    // Rows of another table are not compared with the orders cases.
    if (r.rowsPerSec === undefined || r.rows !== undefined) continue;
    if (copy) r.vsCopy = r.rowsPerSec / copy;
    if (base) r.vsBaseline = r.rowsPerSec / base;
  }
}

export function targets(results: CaseResult[]): Target[] {
  const rate = (num: string) => results.find((r) => r.num === num)?.rowsPerSec;
  const ratio = (a: string, b: string) => {
    const x = rate(a);
    const y = rate(b);
    return x !== undefined && y !== undefined ? x / y : undefined;
  };
  const migrateRss = results.filter((r) => r.migrate && r.peakRssMb !== undefined);
  const worst = migrateRss.sort((a, b) => (b.peakRssMb ?? 0) - (a.peakRssMb ?? 0))[0];
  const wide = results.filter((r) => r.num.startsWith('8') && r.peakRssMb !== undefined);
  const widest = wide.sort((a, b) => (b.peakRssMb ?? 0) - (a.peakRssMb ?? 0))[0];
  const list: Target[] = [
    { text: '(3) copy only ≥ 0.6 × (1) psql \\copy', value: ratio('3', '1'), want: 0.6, kind: 'min' },
    { text: '(3) copy only ≥ 2 × (7a) pgloader pg→pg', value: ratio('3', '7a'), want: 2, kind: 'min' },
    { text: '(4) full pg→pg ≥ 4 × (2) baseline', value: ratio('4', '2'), want: 4, kind: 'min' },
    { text: '(4) full pg→pg ≥ 1.0 × (7a) pgloader pg→pg', value: ratio('4', '7a'), want: 1, kind: 'min' },
    {
      text: '(5) full mysql→pg ≥ 1.0 × (7b) pgloader mysql→pg',
      value: ratio('5', '7b'),
      want: 1,
      kind: 'min',
    },
    { text: '(6) verify ≥ 5 × (4) full pg→pg', value: ratio('6', '4'), want: 5, kind: 'min' },
    {
      text: 'peak RSS of migrate ≤ 200 MB',
      value: worst?.peakRssMb,
      want: 200,
      kind: 'max',
      note: worst ? `worst: (${worst.num})` : undefined,
    },
    {
      text: `(8) wide rows (${widest?.rows?.toLocaleString('en-US') ?? '—'} × 20 KB), default settings: peak RSS ≤ 200 MB`,
      value: widest?.peakRssMb,
      want: 200,
      kind: 'max',
      note: widest ? `worst: (${widest.num})` : undefined,
    },
  ];
  for (const t of list) {
    if (t.value !== undefined) t.pass = t.kind === 'min' ? t.value >= t.want : t.value <= t.want;
  }
  return list;
}

const num = (n: number | undefined, digits = 0) =>
  n === undefined
    ? '—'
    : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export function formatTable(results: CaseResult[], rows: number, repeat: number): string {
  const header = ['case', 'rows/s (median)', 'vs (1)', 'vs (2)', 'peak RSS MB', 'median s', 'runs'];
  const body = results.map((r) => {
    const name = `(${r.num}) ${r.label}`;
    if (r.skipped || r.failed) {
      return [name, r.skipped ? `skipped: ${r.skipped}` : `FAILED: ${r.failed}`, '', '', '', '', ''];
    }
    return [
      name,
      num(r.rowsPerSec),
      r.vsCopy === undefined ? '—' : `${r.vsCopy.toFixed(2)}×`,
      r.vsBaseline === undefined ? '—' : `${r.vsBaseline.toFixed(2)}×`,
      num(r.peakRssMb),
      num(r.medianSeconds, 2),
      r.runs.map((m) => m.seconds.toFixed(1)).join(' '),
    ];
  });
  // A skipped/failed case's message may run past the table rather than widen its column.
  const listed = (r: CaseResult) => !r.skipped && !r.failed;
  const widths = header.map((h, i) =>
    Math.max(h.length, ...body.filter((_, j) => i !== 1 || listed(results[j]!)).map((b) => b[i]!.length)),
  );
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 || i === 6 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const out = [
    `${rows.toLocaleString('en-US')} rows, ${repeat} repetition(s) each, median`,
    line(header),
    widths.map((w) => '-'.repeat(w)).join('  '),
  ];
  for (const b of body) out.push(line(b).trimEnd());
  const notes = results.filter((r) => r.rssNote).map((r) => `RSS (${r.num}): ${r.rssNote}`);
  if (notes.length) out.push('', ...notes);
  return out.join('\n');
}

/** Columns of the "where the CPU went" table (formatCpu here, the Markdown one in perf-doc.ts). */
export const CPU_HEADER = [
  'case',
  'client s',
  'postgres s',
  'mariadb s',
  'memcached s',
  'total µs/row',
  'cores busy',
];

/**
 * Where the CPU went, per case (medians over the runs): the measured client (all its threads) and each
 * server, in seconds and per row, and how many of the machine's cores that kept busy on average.
 */
export function cpuRows(results: CaseResult[], rows: number): string[][] {
  const body: string[][] = [];
  for (const r of results) {
    if (r.runs.length === 0 || r.medianSeconds === undefined) continue;
    const med = (f: (m: Measurement) => number) => median(r.runs.map(f));
    const client = med((m) => m.clientCpu);
    const pg = med((m) => m.serverCpu.postgres);
    const my = med((m) => m.serverCpu.mariadb);
    const mc = med((m) => m.serverCpu.memcached);
    const total = client + pg + my + mc;
    body.push([
      `(${r.num}) ${r.id}`,
      client.toFixed(1),
      pg.toFixed(1),
      my.toFixed(1),
      mc.toFixed(1),
      ((total / (r.rows ?? rows)) * 1e6).toFixed(1),
      (total / r.medianSeconds).toFixed(2),
    ]);
  }
  return body;
}

export function formatCpu(results: CaseResult[], rows: number): string {
  const body = cpuRows(results, rows);
  const widths = CPU_HEADER.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [
    'CPU during the measured time (medians; servers read from /proc, the client from /usr/bin/time):',
    line(CPU_HEADER),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...body.map(line),
  ].join('\n');
}

export function formatTargets(list: Target[]): string {
  const out = ['targets (issue 10), ratios of medians measured in this run:'];
  for (const t of list) {
    const verdict = t.pass === undefined ? 'n/a ' : t.pass ? 'PASS' : 'FAIL';
    const value =
      t.value === undefined
        ? 'not measured'
        : t.kind === 'max'
          ? `${t.value.toFixed(0)} MB`
          : `${t.value.toFixed(2)}× (want ≥ ${t.want}×)`;
    out.push(`  ${verdict}  ${t.text}: ${value}${t.note ? ` ${t.note}` : ''}`);
  }
  return out.join('\n');
}
