/**
 * Cache entries packed into one buffer: the batch form the warming and the checks hand to the cache. Built
 * row by row with no allocation per entry (a JSON string is encoded straight into the buffer), and moved to
 * the cache's worker thread without a copy (the buffer is transferred).
 *
 * Layout per entry: key bytes (u32), value bytes (u32), ttl (f64: any number the caller gave), key (UTF-8), value.
 */
import type { CacheEntry } from './entry.js';

const ENTRY_HEADER = 16;
const FIRST_BYTES = 64 * 1024;

export interface PackedEntries {
  /** Owns its ArrayBuffer (never a slice of a pooled one), so it can be transferred. */
  bytes: Uint8Array;
  count: number;
}

/**
 * Pack buffers to build in again: the cache hands each pack's buffer back once it is done with it (the
 * memcached cache on this thread with `recyclePacks`, or the worker thread with its answer, threaded.ts), so
 * a run's batches reuse a few buffers instead of allocating megabytes a batch, which V8 counts as external
 * memory and answers with full collections.
 */
class SpareBuffers {
  private readonly spare: ArrayBuffer[] = [];

  /** One of at least `bytes`, if one is spare. */
  take(bytes: number): ArrayBuffer | undefined {
    const i = this.spare.findIndex((b) => b.byteLength >= bytes);
    return i < 0 ? undefined : this.spare.splice(i, 1)[0];
  }

  /** A buffer nothing refers to any more; the largest few are kept. */
  give(buffer: ArrayBuffer): void {
    this.spare.push(buffer);
    this.spare.sort((a, b) => b.byteLength - a.byteLength);
    if (this.spare.length > MAX_SPARE) this.spare.length = MAX_SPARE;
  }
}

/** About the packs in flight at once: a batch being packed, one being warmed, per chunk worker. */
const MAX_SPARE = 6;

export const spareBuffers = new SpareBuffers();

export class EntryPackBuilder {
  private buf: Buffer;
  private offset = 0;
  private n = 0;
  private lastStart = -1;

  constructor(expectedBytes = FIRST_BYTES) {
    const bytes = Math.max(1024, expectedBytes);
    this.buf = Buffer.from(spareBuffers.take(bytes) ?? new ArrayBuffer(bytes));
  }

  get count(): number {
    return this.n;
  }

  /** Appends an entry; returns the value's size in bytes. */
  add(key: string, value: string | Uint8Array, ttl: number): number {
    const keyMax = key.length * 3;
    const valueMax = typeof value === 'string' ? value.length * 3 : value.length;
    this.reserve(ENTRY_HEADER + keyMax + valueMax);
    const start = this.offset;
    const buf = this.buf;
    let at = start + ENTRY_HEADER;
    const keyBytes = writeKey(buf, key, at);
    at += keyBytes;
    let valueBytes: number;
    if (typeof value === 'string') valueBytes = buf.write(value, at, 'utf8');
    else {
      buf.set(value, at);
      valueBytes = value.length;
    }
    buf.writeUInt32LE(keyBytes, start);
    buf.writeUInt32LE(valueBytes, start + 4);
    buf.writeDoubleLE(ttl, start + 8);
    this.offset = at + valueBytes;
    this.lastStart = start;
    this.n++;
    return valueBytes;
  }

  /**
   * Starts an entry whose value the caller writes into `buffer` from the returned offset, in at most
   * `maxValueBytes`; `commit` ends it. Calling `begin` again before `commit` starts the same entry over
   * (with more room, say).
   */
  begin(key: string, ttl: number, maxValueBytes: number): number {
    const at = this.beginKey(key.length * 3, maxValueBytes);
    return this.keyWritten(writeKey(this.buf, key, at), ttl);
  }

  /**
   * Starts an entry whose key the caller writes too: returns where its key goes in `buffer` (room for
   * `maxKeyBytes`, then `maxValueBytes`); `keyWritten` then says how long it is.
   */
  beginKey(maxKeyBytes: number, maxValueBytes: number): number {
    this.reserve(ENTRY_HEADER + maxKeyBytes + maxValueBytes);
    return this.offset + ENTRY_HEADER;
  }

  /** The key at `beginKey`'s offset is `keyBytes` long: returns where the value goes (then `commit`). */
  keyWritten(keyBytes: number, ttl: number): number {
    const start = this.offset;
    this.buf.writeUInt32LE(keyBytes, start);
    this.buf.writeDoubleLE(ttl, start + 8);
    return start + ENTRY_HEADER + keyBytes;
  }

  /** The buffer `begin`'s caller writes into (valid until the next `begin` or `add`). */
  get buffer(): Buffer {
    return this.buf;
  }

  /** Ends the entry `begin` started, whose value ends at `end`; returns the value's size in bytes. */
  commit(end: number): number {
    const start = this.offset;
    const valueBytes = end - (start + ENTRY_HEADER + this.buf.readUInt32LE(start));
    this.buf.writeUInt32LE(valueBytes, start + 4);
    this.offset = end;
    this.lastStart = start;
    this.n++;
    return valueBytes;
  }

  /** Takes back the entry just added (a value found too large, say). */
  undo(): void {
    if (this.lastStart < 0) throw new Error('EntryPackBuilder.undo: nothing to take back');
    this.offset = this.lastStart;
    this.lastStart = -1;
    this.n--;
  }

  /** The packed entries; the builder must not be used afterwards. */
  finish(): PackedEntries {
    const bytes = new Uint8Array(this.buf.buffer, 0, this.offset);
    this.buf = Buffer.alloc(0);
    return { bytes, count: this.n };
  }

  private reserve(bytes: number): void {
    if (this.offset + bytes <= this.buf.length) return;
    const size = Math.max(Math.ceil(this.buf.length * 1.5), this.offset + bytes);
    const next = Buffer.from(spareBuffers.take(size) ?? new ArrayBuffer(size));
    this.buf.copy(next, 0, 0, this.offset);
    spareBuffers.give(this.buf.buffer as ArrayBuffer);
    this.buf = next;
  }
}

/**
 * A key's UTF-8 bytes written at `at`; returns their count. Keys are short and mostly ASCII: a loop over
 * the characters costs less than a call into `Buffer.write`, which takes over at the first other one.
 */
function writeKey(buf: Buffer, key: string, at: number): number {
  const n = key.length;
  if (n > 64) return buf.write(key, at, 'utf8');
  for (let i = 0; i < n; i++) {
    const c = key.charCodeAt(i);
    if (c >= 0x80) return buf.write(key, at, 'utf8');
    buf[at + i] = c;
  }
  return n;
}

/** Packs entries (when they are at hand as objects already). */
export function packEntries(entries: readonly CacheEntry[]): PackedEntries {
  let bytes = 0;
  for (const e of entries) bytes += ENTRY_HEADER + e.key.length * 3 + e.value.length;
  const b = new EntryPackBuilder(bytes);
  for (const e of entries) b.add(e.key, e.value, e.ttl);
  return b.finish();
}

/**
 * Where each entry of a pack lies, read in one pass over the entry headers: the cache's worker places,
 * dedupes and sends entries straight from the pack's bytes, with no string, Buffer or object per entry.
 * Entries are numbered from 0 in pack order.
 */
export class PackIndex {
  /** The pack's bytes (a view, not a copy). */
  readonly buf: Buffer;
  readonly count: number;
  /** The same bytes: DataView's reads are compiled inline, Buffer's readDoubleLE is a call. */
  private readonly view: DataView;
  /** Per entry: where its key starts, where its key ends (and its value starts), where its value ends. */
  private readonly bounds: Uint32Array;

  constructor(pack: PackedEntries) {
    const { buffer, byteOffset, byteLength } = pack.bytes;
    const buf = Buffer.from(buffer, byteOffset, byteLength);
    const view = new DataView(buffer, byteOffset, byteLength);
    const bounds = new Uint32Array(pack.count * 3);
    let at = 0;
    for (let i = 0; i < pack.count; i++) {
      // A header past the end throws a RangeError.
      const keyBytes = view.getUint32(at, true);
      const valueBytes = view.getUint32(at + 4, true);
      at += ENTRY_HEADER;
      bounds[3 * i] = at;
      at += keyBytes;
      bounds[3 * i + 1] = at;
      at += valueBytes;
      bounds[3 * i + 2] = at;
    }
    if (at !== buf.length)
      throw new Error(`a packed cache batch is malformed (${at} of ${buf.length} bytes read)`);
    this.buf = buf;
    this.view = view;
    this.count = pack.count;
    this.bounds = bounds;
  }

  keyStart(i: number): number {
    return this.bounds[3 * i]!;
  }

  /** Also where the entry's value starts. */
  keyEnd(i: number): number {
    return this.bounds[3 * i + 1]!;
  }

  valueEnd(i: number): number {
    return this.bounds[3 * i + 2]!;
  }

  /** The key as a string: made only where a key is reported or looked up by string. */
  key(i: number): string {
    return this.buf.toString('utf8', this.keyStart(i), this.keyEnd(i));
  }

  /** The value, a view into the pack. */
  value(i: number): Buffer {
    return this.buf.subarray(this.keyEnd(i), this.valueEnd(i));
  }

  ttl(i: number): number {
    return this.view.getFloat64(this.keyStart(i) - 8, true);
  }

  /** Whether entries i and j have the same key bytes. */
  sameKey(i: number, j: number): boolean {
    const start = this.keyStart(i);
    const n = this.keyEnd(i) - start;
    const other = this.keyStart(j);
    if (this.keyEnd(j) - other !== n) return false;
    for (let k = 0; k < n; k++) if (this.buf[start + k] !== this.buf[other + k]) return false;
    return true;
  }

  /** Whether entry i's value is `bytes`. */
  valueIs(i: number, bytes: Uint8Array): boolean {
    const start = this.keyEnd(i);
    const end = this.valueEnd(i);
    return end - start === bytes.length && this.buf.compare(bytes, 0, bytes.length, start, end) === 0;
  }
}

/** The entries of a pack; values are views into the pack's buffer (no copy). */
export function unpackEntries(pack: PackedEntries): CacheEntry[] {
  const index = new PackIndex(pack);
  const out: CacheEntry[] = new Array(index.count);
  for (let i = 0; i < index.count; i++)
    out[i] = { key: index.key(i), value: index.value(i), ttl: index.ttl(i) };
  return out;
}
