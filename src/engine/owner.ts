/** Lease owners: who holds a chunk, and whether that process is gone. */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/** A lease owner id: `host:pid:random`. */
export function newOwner(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

/**
 * True when `owner` was a process on this host that no longer exists (it crashed or was killed), so its
 * lease can be taken over at once instead of after expiry. Owners on other hosts are never judged dead.
 */
export function ownerIsDead(owner: string): boolean {
  const [host, pid] = owner.split(':');
  if (host !== hostname() || !pid || !/^\d+$/.test(pid) || Number(pid) === process.pid) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
