/**
 * Report files next to the plan's run: every mismatch (`<plan>.mismatches.ndjson`), every rejected row
 * (`<plan>.rejects.ndjson`) and every key left unwarmed by a failed cache server (`<plan>.unwarmed.ndjson`).
 * A file is only created when there is something to put in it.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import type { Reject } from './context.js';
import type { Mismatch } from './events.js';

export class ReportFiles {
  private readonly streams = new Map<string, WriteStream>();
  private closed: Promise<string[]> | null = null;

  constructor(
    private readonly dir: string,
    private readonly plan: string,
  ) {}

  private write(kind: string, line: unknown): void {
    if (this.closed) return;
    let s = this.streams.get(kind);
    if (!s) {
      s = createWriteStream(join(this.dir, `${this.plan}.${kind}.ndjson`), { flags: 'w' });
      this.streams.set(kind, s);
    }
    s.write(`${JSON.stringify(line)}\n`);
  }

  mismatch(m: Mismatch): void {
    this.write('mismatches', m);
  }

  reject(r: Reject): void {
    this.write('rejects', r);
  }

  unwarmed(table: string, keys: readonly string[]): void {
    for (const key of keys) this.write('unwarmed', { table, key });
  }

  close(): Promise<string[]> {
    this.closed ??= Promise.all(
      [...this.streams.entries()].map(
        ([kind, s]) =>
          new Promise<string>((resolve) =>
            s.end(() => resolve(join(this.dir, `${this.plan}.${kind}.ndjson`))),
          ),
      ),
    );
    return this.closed;
  }
}
