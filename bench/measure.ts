/**
 * Child processes under `/usr/bin/time -v`: wall time measured here (monotonic clock, spawn to exit),
 * peak RSS ("Maximum resident set size") read from time's report, which it writes to a file (-o) so the
 * child's own stderr stays readable.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { cpuSince, type ServerCpu, serverCpu } from './cpu.js';

export const TIME_BIN = '/usr/bin/time';

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Peak RSS of the process in MiB, as /usr/bin/time reports it (0 when unknown). */
  rssMb: number;
  /** User + system CPU seconds of the process (all its threads), as /usr/bin/time reports it. */
  cpuSeconds: number;
}

export interface Timed<T> {
  seconds: number;
  result: T;
  /** CPU the database and cache servers used meanwhile. */
  serverCpu: ServerCpu;
}

export function haveTime(): boolean {
  return existsSync(TIME_BIN);
}

let timeDir: string | undefined;
let timeSeq = 0;
function timeFile(): string {
  timeDir ??= mkdtempSync(join(tmpdir(), 'cache-migrate-bench-time-'));
  timeSeq++;
  return join(timeDir, `${timeSeq}.txt`);
}

function timeReport(file: string): { rssMb: number; cpuSeconds: number } {
  if (!existsSync(file)) return { rssMb: 0, cpuSeconds: 0 };
  const text = readFileSync(file, 'utf8');
  const field = (re: RegExp) => Number(re.exec(text)?.[1] ?? 0);
  return {
    rssMb: field(/Maximum resident set size \(kbytes\): (\d+)/) / 1024,
    cpuSeconds: field(/User time \(seconds\): ([\d.]+)/) + field(/System time \(seconds\): ([\d.]+)/),
  };
}

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** stdin of the child: a readable with a file descriptor (another child's stdout), else nothing. */
  stdin?: Readable;
  /** Keep stdout as a pipe for the caller instead of collecting it (for `a | b`). */
  pipeStdout?: boolean;
  /** Collected output is cut to this many characters (a child chatting for minutes stays bounded). */
  maxOutput?: number;
}

export interface Started {
  child: ChildProcess;
  done: Promise<ChildResult>;
}

/** Starts `command args` under /usr/bin/time -v. */
export function startMeasured(command: string, args: string[], opts: SpawnOptions = {}): Started {
  const file = timeFile();
  const child = spawn(TIME_BIN, ['-v', '-o', file, command, ...args], {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'],
  });
  const max = opts.maxOutput ?? 1_000_000;
  let stdout = '';
  let stderr = '';
  if (!opts.pipeStdout) {
    child.stdout?.on('data', (d: Buffer) => {
      if (stdout.length < max) stdout += d.toString();
    });
  }
  child.stderr?.on('data', (d: Buffer) => {
    if (stderr.length < max) stderr += d.toString();
  });
  const done = new Promise<ChildResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, ...timeReport(file) }));
  });
  return { child, done };
}

export async function timed<T>(run: () => Promise<T>): Promise<Timed<T>> {
  const before = serverCpu();
  const started = performance.now();
  const result = await run();
  const seconds = (performance.now() - started) / 1000;
  // The client's backends exit as it does; give the postmaster a moment to reap them (their time then counts).
  await sleep(300);
  return { seconds, result, serverCpu: cpuSince(before) };
}

/** Throws with the child's last output when it did not exit 0. */
export function expectSuccess(label: string, r: ChildResult): void {
  if (r.code === 0) return;
  const tail = (s: string) => s.trim().split('\n').slice(-15).join('\n');
  throw new Error(
    `${label} exited ${r.code ?? r.signal}\n--- stderr ---\n${tail(r.stderr)}\n--- stdout ---\n${tail(r.stdout)}`,
  );
}
