/**
 * Cache entries packed into one buffer: the batch form the warming and the checks hand to the cache. Built
 * row by row with no allocation per entry (a JSON string is encoded straight into the buffer), and moved to
 * the cache's worker thread without a copy (the buffer is transferred).
 *
 * Layout per entry: key bytes (u32), value bytes (u32), ttl (f64: any number the caller gave), key (UTF-8), value.
 */
import type { CacheEntry } from './cache.js';

const ENTRY_HEADER = 16;
const FIRST_BYTES = 64 * 1024;

export interface PackedEntries {
  /** Owns its ArrayBuffer (never a slice of a pooled one), so it can be transferred. */
  bytes: Uint8Array;
  count: number;
}

export class EntryPackBuilder {
  private buf: Buffer;
  private offset = 0;
  private n = 0;
  private lastStart = -1;

  constructor(expectedBytes = FIRST_BYTES) {
    this.buf = Buffer.from(new ArrayBuffer(Math.max(1024, expectedBytes)));
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
    this.reserve(ENTRY_HEADER + key.length * 3 + maxValueBytes);
    const start = this.offset;
    const keyBytes = writeKey(this.buf, key, start + ENTRY_HEADER);
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
    const next = Buffer.from(new ArrayBuffer(size));
    this.buf.copy(next, 0, 0, this.offset);
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

/** The entries of a pack; values are views into the pack's buffer (no copy). */
export function unpackEntries(pack: PackedEntries): CacheEntry[] {
  const buf = Buffer.from(pack.bytes.buffer, pack.bytes.byteOffset, pack.bytes.byteLength);
  const out: CacheEntry[] = new Array(pack.count);
  let at = 0;
  for (let i = 0; i < pack.count; i++) {
    const keyBytes = buf.readUInt32LE(at);
    const valueBytes = buf.readUInt32LE(at + 4);
    const ttl = buf.readDoubleLE(at + 8);
    at += ENTRY_HEADER;
    const key = buf.toString('utf8', at, at + keyBytes);
    at += keyBytes;
    out[i] = { key, value: buf.subarray(at, at + valueBytes), ttl };
    at += valueBytes;
  }
  if (at !== buf.length)
    throw new Error(`a packed cache batch is malformed (${at} of ${buf.length} bytes read)`);
  return out;
}
