// Seeded randomness for tests whose inputs must be the same on every run.

/** A linear congruential generator: the same numbers in [0, 2^31) for the same seed. */
export function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state;
  };
}

/**
 * A key of 0 to `maxLength - 1` characters: mostly printable ASCII, the rest characters of 2-, 3- and
 * 4-byte UTF-8 (including lone-surrogate-free astral ones), as `rand` draws them.
 */
export function randomKey(rand: () => number, maxLength: number): string {
  const length = rand() % maxLength;
  let s = '';
  for (let i = 0; i < length; i++) {
    const r = rand() % 100;
    s +=
      r < 65
        ? String.fromCharCode(33 + (rand() % 94))
        : r < 85
          ? String.fromCharCode(0x80 + (rand() % 0x780))
          : r < 96
            ? String.fromCharCode(0x800 + (rand() % 0xd000))
            : String.fromCodePoint(0x10000 + (rand() % 0x2000));
  }
  return s;
}
