/**
 * CPU time of the servers while a case runs, read from /proc: PostgreSQL (every `postgres` process, plus
 * the time of exited backends the postmaster has reaped, `cutime`/`cstime`), MariaDB and memcached (their
 * threads are in the process's own time). The measured client's own CPU comes from /usr/bin/time.
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

export type ServerCpu = Record<'postgres' | 'mariadb' | 'memcached', number>;

function groupOf(comm: string): keyof ServerCpu | null {
  if (comm === 'postgres') return 'postgres';
  if (comm === 'mariadbd' || comm === 'mysqld') return 'mariadb';
  if (comm === 'memcached') return 'memcached';
  return null;
}

/** Seconds of CPU used so far by each server group (processes alive now, and children they reaped). */
export function serverCpu(): ServerCpu {
  const out: ServerCpu = { postgres: 0, mariadb: 0, memcached: 0 };
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return out;
  }
  for (const pid of pids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    const open = stat.indexOf('(');
    const close = stat.lastIndexOf(')');
    const group = groupOf(stat.slice(open + 1, close));
    if (!group) continue;
    // Fields after the command: state is field 3; utime..cstime are fields 14..17.
    const f = stat.slice(close + 2).split(' ');
    const ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    out[group] += ticks / TICKS_PER_SECOND;
  }
  return out;
}

export function cpuSince(before: ServerCpu): ServerCpu {
  const now = serverCpu();
  return {
    postgres: Math.max(0, now.postgres - before.postgres),
    mariadb: Math.max(0, now.mariadb - before.mariadb),
    memcached: Math.max(0, now.memcached - before.memcached),
  };
}
