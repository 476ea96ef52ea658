/**
 * Where engine events go: `--json` lines on stdout, or for people progress bars on a terminal (plain lines
 * every few seconds when stdout is not a TTY or CI=true), warnings and mismatches on stderr.
 */
import cliProgress from 'cli-progress';
import type { EventSink, MigrateEvent } from '../../engine/events.js';

export const SHOWN_MISMATCHES = 20;

export class JsonSink implements EventSink {
  emit(event: MigrateEvent): void {
    process.stdout.write(`${JSON.stringify(event)}\n`);
  }
}

interface TextOptions {
  progress: boolean;
  quiet: boolean;
  verbose: boolean;
  /** Seconds between plain progress lines. */
  interval?: number;
}

export class TextSink implements EventSink {
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
    this.tty = Boolean(process.stdout.isTTY) && process.env.CI !== 'true' && opts.progress && !opts.quiet;
  }

  private log(line: string, stream: NodeJS.WriteStream = process.stderr): void {
    if (this.bars) this.bars.log(`${line}\n`);
    else stream.write(`${line}\n`);
  }

  emit(event: MigrateEvent): void {
    switch (event.event) {
      case 'run-start':
        if (!this.opts.quiet) {
          process.stdout.write(
            `plan ${event.plan}: ${event.source} → ${event.target}, tables: ${event.tables.join(', ')}\n`,
          );
        }
        break;
      case 'table-start': {
        this.totals.set(event.table, {
          done: event.rowsDone,
          before: event.rowsDone,
          estimate: event.estimatedRows,
          started: Date.now(),
        });
        if (!this.opts.quiet && event.alreadyDone) {
          this.log(
            `${event.table}: already complete (${event.rowsDone} rows); --restart to copy it again`,
            process.stdout,
          );
        } else if (!this.opts.quiet && event.resumedFrom) {
          this.log(
            `${event.table}: resuming after key ${event.resumedFrom} (${event.rowsDone} rows done before)`,
            process.stdout,
          );
        }
        if (this.tty) {
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
          this.tableBars.set(
            event.table,
            this.bars.create(total, event.rowsDone, { table: event.table, rate: 0 }),
          );
        }
        break;
      }
      case 'table-skip':
        if (!this.opts.quiet) this.log(`${event.table}: skipped: ${event.reason}`, process.stdout);
        break;
      case 'table-created':
        if (!this.opts.quiet) {
          const sql = this.opts.verbose ? `:\n${event.sql.join(';\n')}` : ' (createTables)';
          this.log(`${event.table}: created the target table${sql}`, process.stdout);
        }
        break;
      case 'batch': {
        const t = this.totals.get(event.table);
        if (t) t.done += event.rows;
        const rate = t
          ? Math.round((t.done - t.before) / Math.max((Date.now() - t.started) / 1000, 0.001))
          : 0;
        const bar = this.tableBars.get(event.table);
        if (bar && t) {
          if (t.done > bar.getTotal()) bar.setTotal(t.done);
          bar.update(t.done, { rate });
        } else if (this.opts.progress && !this.opts.quiet && t) {
          const now = Date.now();
          if (now - this.lastLine >= (this.opts.interval ?? 5) * 1000 || this.opts.verbose) {
            this.lastLine = now;
            const pct = t.estimate > 0 ? ` (${Math.min(100, Math.round((100 * t.done) / t.estimate))}%)` : '';
            process.stdout.write(`${event.table}: ${t.done} rows${pct}, ${rate} rows/s\n`);
          }
        }
        break;
      }
      case 'warning':
        this.log(`warning: ${event.table ? `${event.table}: ` : ''}${event.message}`);
        break;
      case 'mismatch':
        if (this.mismatchesShown < SHOWN_MISMATCHES) {
          this.mismatchesShown++;
          const cols = event.columns?.length ? ` (columns: ${event.columns.join(', ')})` : '';
          this.log(`mismatch: ${event.table} ${event.key}: ${event.in} ${event.problem}${cols}`);
        } else this.mismatchesHidden++;
        break;
      case 'table-done': {
        const bar = this.tableBars.get(event.table);
        if (bar) bar.stop();
        else if (!this.opts.quiet && this.opts.progress) {
          const t = this.totals.get(event.table);
          process.stdout.write(
            `${event.table}: ${event.complete ? 'done' : 'stopped'}, ${t?.done ?? event.counts.read} rows\n`,
          );
        }
        break;
      }
      case 'summary':
        this.bars?.stop();
        this.bars = null;
        if (this.mismatchesHidden > 0) {
          process.stderr.write(`… and ${this.mismatchesHidden} more mismatches (see the report file)\n`);
        }
        break;
    }
  }

  close(): void {
    this.bars?.stop();
    this.bars = null;
  }
}
