/**
 * The follow record (`run --follow`, issue 22): one per plan, in the table `<stateTable>_follow` beside the
 * chunk checkpoints, created by the first claim of a follow record (a run that does not follow adds no table).
 * A table of its own rather than columns added to the state table: state tables made by earlier versions
 * need no migration, and a record per plan is not a chunk, so `status`, `--restart` and older versions
 * reading chunk rows never meet it.
 */
import { RuntimeError } from '../errors.js';

/** Where a followed migration stands. */
export type FollowPhase = 'copying' | 'catching-up' | 'following' | 'cut-over';

export interface FollowState {
  plan: string;
  phase: FollowPhase;
  /** The source position applied up to (opaque text of the source dialect); null before the first. */
  position: string | null;
  /** What the source holds for this follow (e.g. its slot and publication), for `abandon`; opaque text. */
  holds: string | null;
  /** Changes applied so far, as digits. */
  changesApplied: string;
  /** When the last changes were applied (the target's clock); null before the first. */
  appliedAt: Date | null;
  leaseOwner: string | null;
  leaseLive: boolean;
  updatedAt: Date | null;
}

/** The follow record's update written in the same transaction as the changes it covers (Writer.applyChanges). */
export interface FollowCheckpoint {
  plan: string;
  owner: string;
  /** The source position the changes reach. */
  position: string;
  /** Changes this batch applies, added to the record's count. */
  applied: number;
  /** The lease is extended by this much with every checkpoint. */
  leaseMs: number;
}

/** The follow record in the target's state tables. */
export interface FollowStore {
  /** The plan's follow record; null when it has none (or no follow table exists yet). */
  read(plan: string): Promise<FollowState | null>;
  /**
   * Takes the record's lease (creating the follow table and the record, phase `copying`, when new) unless
   * another live owner holds it: null then. The dead-owner rule of chunk claims applies (`isDead`).
   */
  claim(
    plan: string,
    owner: string,
    leaseMs: number,
    isDead?: (owner: string) => boolean,
  ): Promise<FollowState | null>;
  /** Extends the lease; false when this owner no longer holds it. */
  renew(plan: string, owner: string, leaseMs: number): Promise<boolean>;
  /**
   * Sets the phase, and with `start` the position to read from and what the source holds (after
   * ChangeCapture.start); throws when this owner no longer holds the lease.
   */
  setPhase(
    plan: string,
    owner: string,
    phase: FollowPhase,
    start?: { position: string; holds: string | null },
  ): Promise<void>;
  /** Gives the lease up (the record stays). */
  release(plan: string, owner: string): Promise<void>;
}

/** The follow table of a state table. */
export function followTable(stateTable: string): string {
  return `${stateTable}_follow`;
}

/** The follow table's row, as every dialect reads it (counts may arrive as strings, numbers or bigints). */
export interface FollowRow {
  plan: string;
  phase: string;
  position: string | null;
  holds: string | null;
  changes_applied: string | number | bigint;
  /** UTC, `YYYY-MM-DD HH:MM:SS[.f]` with an optional `+00`. */
  applied_at: string | null;
  lease_owner: string | null;
  updated_at: string | null;
}

export function followStateFrom(r: FollowRow, leaseLive: boolean): FollowState {
  return {
    plan: r.plan,
    phase: r.phase as FollowPhase,
    position: r.position,
    holds: r.holds,
    changesApplied: String(r.changes_applied),
    appliedAt: utcTime(r.applied_at),
    leaseOwner: r.lease_owner,
    leaseLive,
    updatedAt: utcTime(r.updated_at),
  };
}

/** A UTC timestamp as the state tables print it. */
export function utcTime(text: string | null): Date | null {
  return text ? new Date(`${text.replace(' ', 'T').replace(/\+00$/, '')}Z`) : null;
}

/** A follow record update (a checkpoint, a phase) by a run that no longer holds its lease. */
export function followLeaseLost(plan: string): RuntimeError {
  return new RuntimeError(`plan ${plan}: this run's follow lease was taken over by another run`, {
    hint: 'another run is following this plan; stop one of them',
  });
}
