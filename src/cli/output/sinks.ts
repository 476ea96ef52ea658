/**
 * Where engine events go: `--json` lines on stdout, or for people progress bars on a terminal (plain lines
 * every few seconds when stdout is not a TTY or CI=true), warnings and mismatches on stderr, and the
 * closing summary. Every command that reports events (`run`, `run --dry-run`, `warm`, `verify`) prints
 * through one of these.
 */
import cliProgress from 'cli-progress';
import type { EventSink, MigrateEvent } from '../../engine/events.js';
import { formatSummary } from './summary.js';
import { formatTrial, trialBanner, trialMismatch } from './trial-text.js';

const SHOWN_MISMATCHES = 20;

/** The part of a stream a sink writes to (process.stdout/stderr; a test may pass its own). */
interface Output {
  write(text: string): unknown;
  isTTY?: boolean;
}

export class JsonSink implements EventSink {
  constructor(private readonly out: Output = process.stdout) {}

  emit(event: MigrateEvent): void {
    this.out.write(`${JSON.stringify(event)}\n`);
  }
}

interface TextOptions {
  progress: boolean;
  quiet: boolean;
  verbose: boolean;
  /** Seconds between plain progress lines. */
  interval?: number;
  stdout?: Output;
  stderr?: Output;
}

type Event<K extends MigrateEvent['event']> = Extract<MigrateEvent, { event: K }>;

export class TextSink implements EventSink {
  private readonly out: Output;
  private readonly err: Output;
  private readonly tty: boolean;
  private bars: cliProgress.MultiBar | null = null;
  private readonly tableBars = new Map<string, cliProgress.SingleBar>();
  private readonly totals = new Map<
    string,
    { done: number; before: number; estimate: number; started: number }
  >();
  private mismatchesShown = 0;
  private mismatchesHidden = 0;
  private lastLine = 0;

  constructor(private readonly opts: TextOptions) {
    this.out = opts.stdout ?? process.stdout;
    this.err = opts.stderr ?? process.stderr;
    this.tty = Boolean(this.out.isTTY) && process.env.CI !== 'true' && opts.progress && !opts.quiet;
  }

  /** A line above the progress bars while they show, else on `stream` (stderr unless said). */
  private log(line: string, stream: Output = this.err): void {
    if (this.bars) this.bars.log(`${line}\n`);
    else stream.write(`${line}\n`);
  }

  emit(event: MigrateEvent): void {
    switch (event.event) {
      case 'run-start':
        if (this.opts.quiet) break;
        this.out.write(
          event.dryRun
            ? trialBanner(event.plan)
            : `plan ${event.plan}: ${event.source} → ${event.target}, tables: ${event.tables.join(', ')}\n`,
        );
        break;
      case 'table-start':
        this.tableStart(event);
        break;
      case 'table-skip':
        if (!this.opts.quiet) this.log(`${event.table}: skipped: ${event.reason}`, this.out);
        break;
      case 'table-created':
        if (!this.opts.quiet) {
          const sql = this.opts.verbose ? `:\n${event.sql.join(';\n')}` : ' (createTables)';
          this.log(`${event.table}: created the target table${sql}`, this.out);
        }
        break;
      case 'batch':
        this.batch(event);
        break;
      case 'warning':
        this.log(`warning: ${event.table ? `${event.table}: ` : ''}${event.message}`);
        break;
      case 'mismatch': {
        const cols = event.columns?.length ? ` (columns: ${event.columns.join(', ')})` : '';
        if (!this.showMismatch(`mismatch: ${event.table} ${event.key}: ${event.in} ${event.problem}${cols}`))
          this.mismatchesHidden++;
        break;
      }
      case 'dry-run-table':
        if (!this.opts.quiet) this.out.write(formatTrial(event));
        // A dry run writes no report file: the mismatches past the first ones shown are only counted.
        for (const m of event.mismatches) this.showMismatch(trialMismatch(m));
        break;
      case 'table-done':
        this.tableDone(event);
        break;
      case 'summary':
        this.summary(event);
        break;
    }
  }

  close(): void {
    this.bars?.stop();
    this.bars = null;
  }

  /** Prints a mismatch while fewer than SHOWN_MISMATCHES have been; false when it is not shown. */
  private showMismatch(line: string): boolean {
    if (this.mismatchesShown >= SHOWN_MISMATCHES) return false;
    this.mismatchesShown++;
    this.log(line);
    return true;
  }

  private tableStart(event: Event<'table-start'>): void {
    this.totals.set(event.table, {
      done: event.rowsDone,
      before: event.rowsDone,
      estimate: event.estimatedRows,
      started: Date.now(),
    });
    if (!this.opts.quiet && event.alreadyDone) {
      this.log(
        `${event.table}: already complete (${event.rowsDone} rows); --restart to copy it again`,
        this.out,
      );
    } else if (!this.opts.quiet && event.resumedFrom) {
      this.log(
        `${event.table}: resuming after key ${event.resumedFrom} (${event.rowsDone} rows done before)`,
        this.out,
      );
    }
    if (this.tty) this.addBar(event);
  }

  private addBar(event: Event<'table-start'>): void {
    this.bars ??= new cliProgress.MultiBar(
      {
        format: ' {table} |{bar}| {value}/{total} rows | {rate} rows/s | ETA {eta_formatted}',
        hideCursor: true,
        clearOnComplete: false,
        etaBuffer: 20,
      },
      cliProgress.Presets.shades_classic,
    );
    const total = Math.max(event.estimatedRows, event.rowsDone, 1);
    this.tableBars.set(event.table, this.bars.create(total, event.rowsDone, { table: event.table, rate: 0 }));
  }

  private batch(event: Event<'batch'>): void {
    const t = this.totals.get(event.table);
    if (t) t.done += event.rows;
    const rate = t ? Math.round((t.done - t.before) / Math.max((Date.now() - t.started) / 1000, 0.001)) : 0;
    const bar = this.tableBars.get(event.table);
    if (bar && t) {
      if (t.done > bar.getTotal()) bar.setTotal(t.done);
      bar.update(t.done, { rate });
    } else if (this.opts.progress && !this.opts.quiet && t) {
      const now = Date.now();
      if (now - this.lastLine >= (this.opts.interval ?? 5) * 1000 || this.opts.verbose) {
        this.lastLine = now;
        const pct = t.estimate > 0 ? ` (${Math.min(100, Math.round((100 * t.done) / t.estimate))}%)` : '';
        this.out.write(`${event.table}: ${t.done} rows${pct}, ${rate} rows/s\n`);
      }
    }
  }

  private tableDone(event: Event<'table-done'>): void {
    const bar = this.tableBars.get(event.table);
    if (bar) bar.stop();
    else if (!this.opts.quiet && this.opts.progress) {
      const t = this.totals.get(event.table);
      this.out.write(
        `${event.table}: ${event.complete ? 'done' : 'stopped'}, ${t?.done ?? event.counts.read} rows\n`,
      );
    }
  }

  /** The end, in every mode: the summary table of a run, or whether a real run can start after a dry run. */
  private summary(event: Event<'summary'>): void {
    this.bars?.stop();
    this.bars = null;
    if (event.dryRun) {
      if (event.ok) this.out.write('a real run can start.\n');
      return;
    }
    if (this.mismatchesHidden > 0) {
      this.err.write(`… and ${this.mismatchesHidden} more mismatches (see the report file)\n`);
    }
    this.out.write(`\n${formatSummary(event.tables)}`);
    for (const f of event.reportFiles) this.out.write(`report: ${f}\n`);
  }
}
