/**
 * Commander wiring only: parse flags, call a command, print, set the exit code. Importing this module
 * starts nothing: bin/migrate.js and entry.ts call `start`.
 */
import { createRequire } from 'node:module';
import { Command, CommanderError, Option } from 'commander';
import { ExitCode, exitCodeOf, MigrateError } from '../errors.js';
import { MAX_BATCH_SIZE } from '../plan/schema.js';
import type { CommonOptions } from './options.js';
import { errorEvent } from './output/error-event.js';
import { redactOutput } from './output/redact-output.js';

const require = createRequire(import.meta.url);
const { version } = require('../../package.json') as { version: string };

function common(cmd: Command): Command {
  return cmd
    .option('--tables <names>', 'only these tables (comma-separated target names)')
    .option('--json', 'one JSON event per line on stdout, for CI and scripts')
    .option('--no-progress', 'no progress bars or periodic progress lines')
    .option('--quiet', 'print errors and the final summary only')
    .option('--verbose', 'print more detail (per batch, SQL timings)');
}

function runtime(cmd: Command): Command {
  return cmd
    .option('--restart', "drop this plan's checkpoints and start over")
    .addOption(
      new Option('--batch-size <n>', 'rows per batch (overrides the plan)').argParser(
        wholeNumber('--batch-size', MAX_BATCH_SIZE),
      ),
    )
    .addOption(
      new Option('--concurrency <n>', 'cache requests in flight per server').argParser(
        wholeNumber('--concurrency', MAX_CONCURRENCY),
      ),
    )
    .addOption(
      new Option(
        '--workers <n>',
        'tables/chunks worked on at once in this process (default: tables one after another, two chunks of a table at once)',
      ).argParser(wholeNumber('--workers', MAX_WORKERS)),
    );
}

/** Each worker holds a reader and a writer connection: more than this would exhaust any server's. */
const MAX_WORKERS = 256;
const MAX_CONCURRENCY = 1024;

/**
 * A flag's value: decimal digits only, from 1 to `max`. Number() alone would take `0x10`, `1e3`, `1_0`
 * or ` 12` and hand a value the plan's schema would never accept.
 */
function wholeNumber(flag: string, max: number): (value: string) => number {
  return (value) => {
    const n = /^[0-9]{1,16}$/.test(value) ? Number(value) : Number.NaN;
    if (!(n >= 1 && n <= max))
      throw new CommanderError(
        2,
        'migrate.usage',
        `${flag}: expected a whole number from 1 to ${max} in decimal digits, got "${value}"`,
      );
    return n;
  };
}

export function buildProgram(): Command {
  const program = new Command('migrate')
    .description(
      'Move tables between PostgreSQL and MySQL/MariaDB, warm memcached, and prove the copy correct.',
    )
    .version(version, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  runtime(common(program.command('run')))
    .argument('<plan>', 'plan file (YAML)')
    .description("migrate the plan's tables; resumes from its checkpoints")
    .option('--dry-run', 'check everything and trial one batch per table in a rolled-back transaction')
    .addOption(new Option('--format <format>', 'output format for plan problems').choices(['text', 'github']))
    .action(async (plan: string, opts: CommonOptions) => {
      if (opts.dryRun) {
        const { dryRunCommand } = await import('./commands/dry-run.js');
        return dryRunCommand(plan, opts);
      }
      const { runCommand } = await import('./commands/run.js');
      return runCommand(plan, opts);
    });

  common(program.command('validate'))
    .argument('<plan>', 'plan file (YAML)')
    .description('check the plan; online (default) also checks the servers and tables')
    .option('--offline', 'check the file only (schema and environment), no connections')
    .addOption(new Option('--format <format>', 'output format for problems').choices(['text', 'github']))
    .action(async (plan: string, opts: CommonOptions) => {
      const { validateCommand } = await import('./commands/validate.js');
      return validateCommand(plan, opts);
    });

  common(program.command('status'))
    .argument('<plan>', 'plan file (YAML)')
    .description('per table: state, rows done / estimated, last key, mismatches, last run')
    .action(async (plan: string, opts: CommonOptions) => {
      const { statusCommand } = await import('./commands/status.js');
      return statusCommand(plan, opts);
    });

  common(program.command('verify'))
    .argument('<plan>', 'plan file (YAML)')
    .description('full re-check of source vs target (and cache), narrowed to the differing rows')
    .option('--no-cache', 'skip checking the cache entries')
    .action(async (plan: string, opts: CommonOptions) => {
      const { verifyCommand } = await import('./commands/verify.js');
      return verifyCommand(plan, opts);
    });

  runtime(common(program.command('warm')))
    .argument('<plan>', 'plan file (YAML)')
    .description('warm the cache from the target tables only; no data moved')
    .action(async (plan: string, opts: CommonOptions) => {
      const { warmCommand } = await import('./commands/warm.js');
      return warmCommand(plan, opts);
    });

  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    const code = await program.parseAsync(argv);
    void code;
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.ok;
  } catch (error) {
    const code = reportError(error);
    // `--json`: a fatal error is an event on stdout too (commander's own flags are booleans: no `--json=`).
    // Differences found (exit 3) are a result, not a failure: the summary event says so (`ok: false`).
    const failed = code !== ExitCode.ok && code !== ExitCode.mismatch;
    if (failed && argv.slice(2).includes('--json')) {
      process.stdout.write(`${JSON.stringify(errorEvent(error, code))}\n`);
    }
    return code;
  }
}

function reportError(error: unknown): ExitCode {
  if (error instanceof CommanderError) {
    // Commander has printed the message already; help and version are successes.
    if (
      error.code === 'commander.helpDisplayed' ||
      error.code === 'commander.version' ||
      error.code === 'commander.help'
    )
      return 0;
    if (error.code === 'migrate.usage') process.stderr.write(`error: ${error.message}\n`);
    return ExitCode.usage;
  }
  if (error instanceof MigrateError) {
    process.stderr.write(`error: ${error.message}\n`);
    if (error.hint) process.stderr.write(`  → ${error.hint}\n`);
    if (process.env.MIGRATE_DEBUG && error.cause) process.stderr.write(`  cause: ${String(error.cause)}\n`);
  } else {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`error: unexpected failure: ${message}\n`);
    if (process.env.MIGRATE_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    process.stderr.write(
      '  → this is a bug in cache-migrate; please report it with the plan (passwords removed)\n',
    );
  }
  return exitCodeOf(error);
}

/** Runs the CLI as the process: every byte written to stdout and stderr is redacted first. */
export function start(argv: string[] = process.argv): void {
  redactOutput(process.stdout);
  redactOutput(process.stderr);
  main(argv).then((code) => {
    process.exitCode = code;
  });
}
