// The hand-written MD5 word that places keys on the ketama ring must equal node:crypto's MD5, for every
// length around the block boundaries, multi-byte UTF-8, astral characters and lone surrogates; from a key's
// bytes in a larger buffer (a pack) as from the key string.
import { hash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { md5FirstWord, md5FirstWordOfBytes } from '../../src/cache/md5-word.js';
import { randomKey, seeded } from '../helpers/random.js';

const reference = (s: string) => hash('md5', Buffer.from(s, 'utf8'), 'buffer').readUInt32LE(0);

describe('md5FirstWord', () => {
  it('equals the first word of node:crypto MD5 for every length from 0 to 300 bytes', () => {
    for (let n = 0; n <= 300; n++) {
      const s = Array.from({ length: n }, (_, i) => String.fromCharCode(33 + ((i * 7 + n) % 90))).join('');
      expect(md5FirstWord(s), `length ${n}`).toBe(reference(s));
    }
  });

  it('encodes UTF-8 as Buffer.from does: 2-, 3- and 4-byte characters, lone surrogates', () => {
    const samples = [
      'é',
      'ключ:42',
      '☃ snow',
      '😀',
      'a😀b',
      '\ud800',
      'x\udc00y',
      '\ud83d',
      'ü'.repeat(130),
      '中'.repeat(90),
    ];
    for (const s of samples) expect(md5FirstWord(s), JSON.stringify(s)).toBe(reference(s));
  });

  it('matches on random keys, and on a key longer than its first buffer', () => {
    let seed = 42;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    for (let k = 0; k < 5000; k++) {
      const len = rand() % 120;
      let s = '';
      for (let i = 0; i < len; i++) {
        const r = rand() % 100;
        s +=
          r < 80
            ? String.fromCharCode(32 + (rand() % 95))
            : r < 95
              ? String.fromCharCode(0xa0 + (rand() % 0x700))
              : String.fromCodePoint(0x1f600 + (rand() % 50));
      }
      expect(md5FirstWord(s)).toBe(reference(s));
    }
    const long = 'k'.repeat(5000) + 'é';
    expect(md5FirstWord(long)).toBe(reference(long));
    expect(md5FirstWord('test')).toBe(reference('test'));
  });
});

describe('md5FirstWordOfBytes', () => {
  /** The key's UTF-8 at an odd offset of a larger buffer, between other bytes (as in a pack). */
  function embedded(key: string): { buf: Buffer; start: number; end: number } {
    const bytes = Buffer.from(key, 'utf8');
    const buf = Buffer.concat([Buffer.from('\xff\x00junk'), bytes, Buffer.from('after')]);
    return { buf, start: 7, end: 7 + bytes.length };
  }

  it('equals md5FirstWord of the string, for every length from 0 to 300 bytes', () => {
    for (let n = 0; n <= 300; n++) {
      const s = Array.from({ length: n }, (_, i) => String.fromCharCode(33 + ((i * 11 + n) % 90))).join('');
      const { buf, start, end } = embedded(s);
      expect(md5FirstWordOfBytes(buf, start, end), `length ${n}`).toBe(md5FirstWord(s));
      expect(md5FirstWordOfBytes(buf, start, end)).toBe(reference(s));
    }
  });

  it('equals md5FirstWord on random ASCII and non-ASCII keys', () => {
    const rand = seeded(7);
    for (let k = 0; k < 5000; k++) {
      const s = randomKey(rand, 100);
      const { buf, start, end } = embedded(s);
      expect(md5FirstWordOfBytes(buf, start, end), JSON.stringify(s)).toBe(md5FirstWord(s));
    }
  });
});
