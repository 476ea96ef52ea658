/**
 * A small reader for V8 `.cpuprofile` files (`node --cpu-prof`): self time per function and per source
 * (project file, package, node internals, GC/idle), across every thread's profile of one run.
 *
 *   npx tsx bench/profile.ts <file.cpuprofile | folder> [--top 25]
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface FunctionTime {
  name: string;
  location: string;
  source: string;
  thread: string;
  selfMs: number;
}

export interface ProfileSummary {
  files: { file: string; thread: string; wallMs: number; sampledMs: number; idleMs: number }[];
  functions: FunctionTime[];
  sources: { source: string; selfMs: number }[];
  /**
   * Busy time charged to the nearest project function on the stack (itself or its nearest caller in
   * dist/), so time spent in node internals, V8 builtins and packages lands on the project code that asked
   * for it. GC and samples with no project frame stay under their own names.
   */
  byProjectCaller: { name: string; location: string; ms: number }[];
  totalMs: number;
  idleMs: number;
}

const REPO = resolve(fileURLToPath(new URL('..', import.meta.url)));

function shortUrl(url: string): string {
  let u = url.startsWith('file://') ? fileURLToPath(url) : url;
  if (u.startsWith(`${REPO}/`)) u = u.slice(REPO.length + 1);
  // The bench runs a snapshot of dist/ from bench/results/run-<stamp>/build/dist/.
  return u.replace(/^bench\/results\/[^/]+\/build\//, '');
}

/** The bucket a function's time is counted in: a project folder, a package, node internals, or V8's own. */
function sourceOf(frame: CallFrame): string {
  const u = shortUrl(frame.url);
  if (!u) return frame.functionName.startsWith('(') ? frame.functionName : '(native/V8 builtins)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(u);
  if (pkg?.[1]) return `pkg ${pkg[1]}`;
  if (u.startsWith('node:')) return 'node internals';
  const dist = /^(?:dist|src|bench)\/([^/]+)(?:\/([^/]+))?/.exec(u);
  if (dist?.[1]) return dist[2] && !dist[1].endsWith('.js') ? `${dist[1]}/${dist[2]}` : dist[1];
  return u;
}

/** `CPU.20240101.120000.<pid>.<tid>.<seq>.cpuprofile` -> tid 0 is the main thread. */
function threadOf(file: string): string {
  const m = /^CPU\.\d+\.\d+\.\d+\.(\d+)\.\d+\.cpuprofile$/.exec(basename(file));
  return !m || m[1] === '0' ? 'main' : `thread ${m[1]}`;
}

export function profileFiles(target: string): string[] {
  if (!statSync(target).isDirectory()) return [target];
  return readdirSync(target)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort()
    .map((f) => join(target, f));
}

export function summarize(files: string[]): ProfileSummary {
  const byFunction = new Map<string, FunctionTime>();
  const bySource = new Map<string, number>();
  const byCaller = new Map<string, { name: string; location: string; ms: number }>();
  const summary: ProfileSummary = {
    files: [],
    functions: [],
    sources: [],
    byProjectCaller: [],
    totalMs: 0,
    idleMs: 0,
  };
  for (const file of files) {
    const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
    const thread = threadOf(file);
    const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const isProject = (n: ProfileNode) => /^(dist|src)\//.test(shortUrl(n.callFrame.url));
    const samples = profile.samples ?? [];
    const deltas = profile.timeDeltas ?? [];
    const selfUs = new Map<number, number>();
    // Each interval between two samples is charged to the earlier sample (what was running then).
    for (let i = 0; i < samples.length; i++) {
      const next = deltas[i + 1] ?? 0;
      const id = samples[i]!;
      selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, next));
    }
    let sampledMs = 0;
    let idleMs = 0;
    for (const [id, us] of selfUs) {
      const node = nodes.get(id);
      if (!node) continue;
      const ms = us / 1000;
      const frame = node.callFrame;
      const name = frame.functionName || '(anonymous)';
      sampledMs += ms;
      if (name === '(idle)') idleMs += ms;
      const location = frame.url ? `${shortUrl(frame.url)}:${frame.lineNumber + 1}` : '';
      const key = `${thread}\0${name}\0${location}`;
      const source = sourceOf(frame);
      const entry = byFunction.get(key) ?? { name, location, source, thread, selfMs: 0 };
      entry.selfMs += ms;
      byFunction.set(key, entry);
      bySource.set(source, (bySource.get(source) ?? 0) + ms);
      if (name === '(idle)') continue;
      let owner: ProfileNode | undefined = node;
      while (owner && !isProject(owner)) owner = nodes.get(parent.get(owner.id) ?? -1);
      const at = owner ?? node;
      const atName = owner ? at.callFrame.functionName || '(anonymous)' : `${name} (no project caller)`;
      const atLocation = owner ? `${shortUrl(at.callFrame.url)}:${at.callFrame.lineNumber + 1}` : '';
      const callerKey = `${atName}\0${atLocation}`;
      const c = byCaller.get(callerKey) ?? { name: atName, location: atLocation, ms: 0 };
      c.ms += ms;
      byCaller.set(callerKey, c);
    }
    summary.files.push({
      file,
      thread,
      wallMs: (profile.endTime - profile.startTime) / 1000,
      sampledMs,
      idleMs,
    });
    summary.totalMs += sampledMs;
    summary.idleMs += idleMs;
  }
  summary.functions = [...byFunction.values()].sort((a, b) => b.selfMs - a.selfMs);
  summary.byProjectCaller = [...byCaller.values()].sort((a, b) => b.ms - a.ms);
  summary.sources = [...bySource.entries()]
    .map(([source, selfMs]) => ({ source, selfMs }))
    .sort((a, b) => b.selfMs - a.selfMs);
  return summary;
}

const pct = (part: number, whole: number) => `${whole > 0 ? ((100 * part) / whole).toFixed(1) : '0.0'}%`;

export function formatSummary(s: ProfileSummary, top = 25): string {
  const out: string[] = [];
  const busy = s.totalMs - s.idleMs;
  for (const f of s.files) {
    out.push(
      `${f.thread}: ${basename(f.file)}  wall ${(f.wallMs / 1000).toFixed(2)} s, sampled ${(f.sampledMs / 1000).toFixed(2)} s, idle ${pct(f.idleMs, f.sampledMs)}`,
    );
  }
  const threads = new Set(s.files.map((f) => f.thread)).size > 1;
  out.push(
    '',
    `top ${top} functions by self time (% of busy time ${(busy / 1000).toFixed(2)} s; idle excluded)`,
  );
  out.push(
    `${'self ms'.padStart(9)} ${'%busy'.padStart(6)}  ${threads ? 'thread    ' : ''}function  (location)`,
  );
  for (const f of s.functions.filter((x) => x.name !== '(idle)').slice(0, top)) {
    out.push(
      `${f.selfMs.toFixed(0).padStart(9)} ${pct(f.selfMs, busy).padStart(6)}  ${threads ? f.thread.padEnd(10) : ''}${f.name}${f.location ? `  (${f.location})` : ''}`,
    );
  }
  out.push('', 'busy time by nearest project function on the stack (its own time + the internals it called)');
  for (const c of s.byProjectCaller.slice(0, Math.max(15, Math.floor(top / 2)))) {
    out.push(
      `${c.ms.toFixed(0).padStart(9)} ${pct(c.ms, busy).padStart(6)}  ${c.name}${c.location ? `  (${c.location})` : ''}`,
    );
  }
  out.push('', 'self time by source (idle excluded)');
  for (const x of s.sources.filter((x) => x.source !== '(idle)').slice(0, 15)) {
    out.push(`${x.selfMs.toFixed(0).padStart(9)} ${pct(x.selfMs, busy).padStart(6)}  ${x.source}`);
  }
  return out.join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const topAt = args.indexOf('--top');
  const top = topAt >= 0 ? Number(args[topAt + 1]) : 25;
  const target = args.find((a, i) => !a.startsWith('--') && (topAt < 0 || i !== topAt + 1));
  if (!target) {
    console.error('usage: tsx bench/profile.ts <file.cpuprofile | folder> [--top 25]');
    process.exit(2);
  }
  console.log(formatSummary(summarize(profileFiles(target)), top));
}
