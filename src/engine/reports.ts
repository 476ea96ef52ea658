/**
 * Report files next to the plan's run: every mismatch (`<plan>.mismatches.ndjson`), every rejected row
 * (`<plan>.rejects.ndjson`) and every key left unwarmed by a failed cache server (`<plan>.unwarmed.ndjson`).
 * A file is only created when there is something to put in it; each is written as an AtomicFile (0600,
 * no symlink followed, in place only once complete).
 */
import { join } from 'node:path';
import { AtomicFile } from './atomic-file.js';
import type { Reject } from './context.js';
import type { Mismatch } from './events.js';

export class ReportFiles {
  private readonly files = new Map<string, AtomicFile>();
  private closed: Promise<string[]> | null = null;

  constructor(
    private readonly dir: string,
    private readonly plan: string,
  ) {}

  private write(kind: string, line: unknown): void {
    if (this.closed) return;
    let f = this.files.get(kind);
    if (!f) {
      f = new AtomicFile(join(this.dir, `${this.plan}.${kind}.ndjson`));
      this.files.set(kind, f);
    }
    f.write(`${JSON.stringify(line)}\n`);
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

  /** Puts every file in place; returns their paths. */
  close(): Promise<string[]> {
    this.closed ??= Promise.all([...this.files.values()].map((f) => f.commit()));
    return this.closed;
  }
}
