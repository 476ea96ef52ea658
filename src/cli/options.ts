/**
 * The flags commander hands to the commands (docs/how-it-works.md "Commands and options").
 * Flag > environment > plan file.
 */
export interface CommonOptions {
  tables?: string;
  json?: boolean;
  progress?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  restart?: boolean;
  batchSize?: number;
  concurrency?: number;
  workers?: number;
  dryRun?: boolean;
  offline?: boolean;
  format?: 'text' | 'github';
  cache?: boolean;
}

export function tableFilter(opts: CommonOptions): string[] | undefined {
  return opts.tables
    ?.split(',')
    .map((t) => t.trim())
    .filter((t) => t.length > 0);
}
