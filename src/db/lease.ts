/** The lease rules every dialect's state store applies, to chunks and to the follow record alike. */
import { LockedError } from '../errors.js';

/**
 * Whether a lease keeps `owner` out: it is live, held by someone else, and `isDead` does not say that holder
 * is gone (a crashed process on this host).
 */
export function heldByOther(
  live: boolean,
  holder: string | null,
  owner: string,
  isDead: (owner: string) => boolean,
): boolean {
  return live && holder !== owner && !(holder !== null && isDead(holder));
}

/** `--restart` meeting live leases of another run (`held`: what each holds, e.g. `orders held by h:1:a`). */
export function restartRefused(plan: string, held: string[], stateTable: string): LockedError {
  return new LockedError(
    `--restart refused: another run of plan ${plan} is live (${held.join(', ')}) in state table ${stateTable}`,
    {
      hint: 'wait for it to finish or stop it; a run that died on another host or in another container frees its lease when the lease expires (see `migrate status`)',
    },
  );
}
