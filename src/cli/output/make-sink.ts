import type { EventSink } from '../../engine/events.js';
import type { CommonOptions } from '../options.js';
import { JsonSink, TextSink } from './sinks.js';

export function makeSink(opts: CommonOptions): EventSink {
  if (opts.json) return new JsonSink();
  return new TextSink({
    progress: opts.progress !== false,
    quiet: Boolean(opts.quiet),
    verbose: Boolean(opts.verbose),
  });
}
