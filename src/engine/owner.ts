/**
 * Lease owners: who holds a chunk, and whether that process is gone.
 *
 * An owner id names its process so that no other process anywhere can carry the same id:
 * `<pid>@<host>/<random>;boot=<boot id>;pidns=<pid namespace>;start=<start time>`. The host name is only
 * for people reading `migrate status`: containers share host names and pids, so a process is judged gone
 * only when the owner's boot id and pid namespace are this process's own (the same kernel boot, the same
 * set of pids) and its pid no longer names the process that started at the recorded time. Any other owner
 * (another host, another container, another boot, or an id written by an older version as `host:pid:random`)
 * loses its lease only when the lease expires.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';

/** What makes a process unique on this kernel: boot, pid namespace, pid and start time (clock ticks). */
export interface ProcessIdentity {
  bootId: string;
  pidNamespace: string;
  pid: number;
  startTime: string;
}

interface ParsedOwner extends ProcessIdentity {
  host: string;
}

const OWNER_PATTERN = /^(\d+)@([^/;]*)\/[0-9a-f]+;boot=([0-9a-f-]+);pidns=(\d+);start=(\d+)$/;

/**
 * /proc/<pid>/stat: the pid as /proc sees it, and the fields after the command name (which may hold
 * spaces and parentheses): fields[0] is the state (field 3), fields[19] the start time (field 22).
 */
function readStat(pid: number | 'self'): { pid: number; fields: string[] } {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return {
    pid: Number(text.slice(0, text.indexOf(' '))),
    fields: text.slice(text.lastIndexOf(')') + 2).split(' '),
  };
}

/**
 * This process's identity, or null where the kernel does not offer one (no Linux /proc, or a /proc that
 * belongs to another pid namespace): then no owner is ever judged gone locally, only by expiry.
 */
export function readOwnIdentity(): ProcessIdentity | null {
  try {
    const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const pidNamespace = /^pid:\[(\d+)\]$/.exec(readlinkSync('/proc/self/ns/pid'))?.[1];
    const stat = readStat('self');
    const startTime = stat.fields[19];
    if (!/^[0-9a-f-]{36}$/.test(bootId) || !pidNamespace || stat.pid !== process.pid || !startTime)
      return null;
    return { bootId, pidNamespace, pid: process.pid, startTime };
  } catch {
    return null;
  }
}

let own: ProcessIdentity | null | undefined;

function ownIdentity(): ProcessIdentity | null {
  if (own === undefined) own = readOwnIdentity();
  return own;
}

/** A new lease owner id for this process (a new random part per call: one per run). */
export function newOwner(identity: ProcessIdentity | null = ownIdentity()): string {
  const host = hostname()
    .replace(/[^A-Za-z0-9.-]/g, '_')
    .slice(0, 64);
  const base = `${identity?.pid ?? process.pid}@${host}/${randomBytes(3).toString('hex')}`;
  if (!identity) return base;
  return `${base};boot=${identity.bootId};pidns=${identity.pidNamespace};start=${identity.startTime}`;
}

function parseOwner(owner: string): ParsedOwner | null {
  const m = OWNER_PATTERN.exec(owner);
  if (!m) return null;
  return { pid: Number(m[1]), host: m[2]!, bootId: m[3]!, pidNamespace: m[4]!, startTime: m[5]! };
}

/** The part of an owner id for people: `pid@host/random` (an old id as it is). */
export function ownerLabel(owner: string): string {
  const semi = owner.indexOf(';');
  return semi < 0 ? owner : owner.slice(0, semi);
}

/**
 * Start time of process `pid` in this pid namespace: null when there is no such process (or only its
 * zombie), undefined when it cannot be told.
 */
function startTimeOf(pid: number): string | null | undefined {
  try {
    const { fields } = readStat(pid);
    return fields[0] === 'Z' || fields[0] === 'X' ? null : (fields[19] ?? undefined);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? null : undefined;
  }
}

/**
 * True when `owner` is a process of this kernel boot and pid namespace that no longer exists (it crashed
 * or was killed, or its pid now names a later process), so its lease can be taken over at once instead
 * of after expiry. Owners of other hosts, containers or boots, and ids of older versions, are never
 * judged dead here.
 */
export function ownerIsDead(owner: string, self: ProcessIdentity | null = ownIdentity()): boolean {
  const o = parseOwner(owner);
  if (!o || !self || o.bootId !== self.bootId || o.pidNamespace !== self.pidNamespace) return false;
  if (o.pid === self.pid) return o.startTime !== self.startTime;
  const start = startTimeOf(o.pid);
  if (start === undefined) return false;
  return start === null || start !== o.startTime;
}
