/**
 * With `--json`, a fatal error is the last line on stdout: `{"event":"error","exitCode":…}`, with the
 * message and hint people see on stderr (secrets masked like all output) and, for a plan error, its issues.
 */
import { CommanderError } from 'commander';
import { type ExitCode, MigrateError, PlanError, type PlanIssue } from '../../errors.js';

export interface ErrorEvent {
  event: 'error';
  exitCode: ExitCode;
  /** The error's kind: `PlanError`, `UsageError`, `ConnectionError`, …; `bug` for an unexpected failure. */
  error: string;
  message: string;
  hint?: string;
  issues?: PlanIssue[];
}

export function errorEvent(error: unknown, exitCode: ExitCode): ErrorEvent {
  if (error instanceof MigrateError) {
    return {
      event: 'error',
      exitCode,
      error: error.name,
      message: error.message,
      ...(error.hint ? { hint: error.hint } : {}),
      ...(error instanceof PlanError ? { issues: error.issues } : {}),
    };
  }
  if (error instanceof CommanderError) {
    return { event: 'error', exitCode, error: 'UsageError', message: error.message.replace(/^error: /, '') };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { event: 'error', exitCode, error: 'bug', message: `unexpected failure: ${message}` };
}
