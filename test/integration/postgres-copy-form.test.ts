// Rows encoded for a PostgreSQL target are written in the server's own COPY output form, so that the check
// can compare the text sent with the text the target prints. Against the real server: jsonb spelled as
// jsonb_out spells it (or left as written where that cannot be told), and batches of every kind, in the forms
// MySQL conversions give them, printed back byte for byte; a value the target changes is still caught.
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/convert/json-canonical.js';
import { rowJsonEncoder } from '../../src/convert/row-json.js';
import type { Row } from '../../src/convert/value.js';
import { rowsBatch } from '../../src/db/batch.js';
import { copyEncoderFor } from '../../src/db/postgres/codec.js';
import { type ByteOut, JsonbCopyWriter } from '../../src/db/postgres/jsonb-copy-writer.js';
import { jsonbText } from '../../src/db/postgres/jsonb-form.js';
import { copyOut } from '../../src/db/postgres/read.js';
import { checkpointOf, scopedPgDialects, stateSql, upsertWriter } from '../helpers/pg-writer.js';

const setup = scopedPgDialects();

/** Documents jsonbText spells exactly as the server does. */
const SPELLED = [
  '{"color": "green", "size": 1, "gift": false, "w": 1}',
  '{"b":[1,2.50,{"z":null,"aa":true}],"a":1.0}',
  '  {\n\t"k" : [ ] , "j" : { } }  ',
  '{"a": 1, "a": 2, "b": {"x": 1, "x": [3]}}',
  '{"é": 1, "z": 2, "zz": 3, "😀": 4, "\uE000": 5, "Z": 6}',
  '{"s": "\\u00e9\\/\\ud83d\\ude00 \\\\ \\"q\\" \\b\\f\\n\\r\\t \\u001f \\u007f é"}',
  '{"raw": "tab\there?"}'.replace('\t', ' '),
  '[-0, -0.0, -0.000, 0, 0.0, 1.50, -12.340, 12345678901234567890123456789, -1]',
  '"just a string"',
  '12.50',
  'null',
  'true',
  '[]',
  '{}',
  '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]',
  '{"key with \\"quotes\\" and \\\\": "v", "\\n": 1}',
];

/** Documents it leaves as written: the server rewrites or rejects them. */
const AS_WRITTEN = [
  '{"a": 1e2}',
  '[1.5E-3]',
  '{"a": "\\u0000"}',
  '["\\ud800"]',
  '{"a":}',
  '[1,]',
  '{"a": 1} x',
];

/** A random JSON document (deterministic: seeded), with the awkward parts mixed in. */
function randomJson(seed: number): string {
  let s = seed >>> 0;
  const rand = (n: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
  const words = ['a', 'bb', 'é', 'zz', 'ccc', '😀', 'q"t', 'b\\s', 'n\nl', 'A', 'id', 'x/y', '\u001f'];
  const str = () => JSON.stringify(words[rand(words.length)]!).replace('/', rand(2) ? '\\/' : '/');
  const num = () => ['0', '-0', '1.50', '-2', '123456789012345678901', '0.001', '7'][rand(7)]!;
  const value = (depth: number): string => {
    const r = rand(depth > 3 ? 4 : 7);
    if (r === 0) return str();
    if (r === 1) return num();
    if (r === 2) return ['true', 'false', 'null'][rand(3)]!;
    if (r === 3) return str();
    if (r === 4) {
      const n = rand(4);
      return `[${Array.from({ length: n }, () => value(depth + 1)).join(rand(2) ? ',' : ', ')}]`;
    }
    const n = rand(5);
    const items = Array.from({ length: n }, () => `${str()}${rand(2) ? ':' : ' : '}${value(depth + 1)}`);
    return `{${items.join(rand(2) ? ',' : ' ,\n ')}}`;
  };
  return value(0);
}

const KINDS_SQL = (name: string) => `CREATE TABLE ${name} (id bigint PRIMARY KEY, n numeric(12,2),
  ts timestamptz, t timestamp, note text, ok boolean, j jsonb, js json, u uuid, b bytea, d date, f float8);`;

/** Rows as a MySQL source's conversions give them (6-digit fractions, MySQL's JSON spacing, controls). */
function mysqlLikeRows(): Row[] {
  const notes = ['plain', 'tab\there', 'back\\slash \\N', 'ctl \b\f\v\r\n \x01\x7f', 'Müller ☃ 😀', '', null];
  const rows: Row[] = [];
  for (let i = 1; i <= 300; i++) {
    const frac = ['.000000', '.100000', '.007919', '.123456', ''][i % 5]!;
    rows.push([
      String(i * 1000000007),
      `${i % 7 === 0 ? '-' : ''}${i}.${String(i % 100).padStart(2, '0')}`,
      `2024-0${(i % 9) + 1}-1${i % 10} 0${i % 10}:1${i % 6}:2${i % 10}${frac}`,
      i % 11 === 0 ? null : `1999-12-31 23:59:59${frac}`,
      notes[i % notes.length]!,
      i % 3 === 0,
      i % 13 === 0 ? null : randomJson(i),
      `{"kept":  "as written", "n": ${i}}`,
      `0000000${i % 10}-aaaa-4bbb-8ccc-0123456789ab`.slice(-36),
      i % 4 === 0 ? null : Buffer.from([0, i % 256, 0x5c, 0x0a]),
      `20${String(i % 100).padStart(2, '0')}-02-28`,
      i % 2 ? i / 8 : -i,
    ]);
  }
  return rows;
}

describe('PostgreSQL COPY output form', () => {
  it('spells jsonb as the server prints it, or leaves it as written where it cannot', async () => {
    const { db } = await setup('pg jsonb form', 'SELECT 1');
    const docs = [...SPELLED, ...Array.from({ length: 600 }, (_, i) => randomJson(i + 1))];
    const printed = await db.client.query<{ t: string }>(
      'SELECT x::jsonb::text AS t FROM unnest($1::text[]) WITH ORDINALITY AS u(x, i) ORDER BY i',
      [docs],
    );
    docs.forEach((doc, i) => {
      expect(jsonbText(doc), doc).toBe(printed.rows[i]!.t);
      expect(canonicalJson(jsonbText(doc))).toBe(canonicalJson(doc));
    });
    for (const doc of AS_WRITTEN) expect(jsonbText(doc)).toBe(doc);
    // The server rewrites exponents (so the text would differ: the check then compares values).
    const exp = await db.client.query<{ t: string }>(`SELECT '{"a": 1e2}'::jsonb::text AS t`);
    expect(exp.rows[0]!.t).toBe('{"a": 100}');
  });

  it('writes jsonb from UTF-8 bytes exactly as the string path encodes it, or leaves it to that path', () => {
    const encode = copyEncoderFor({ kind: 'json', dbType: 'jsonb' });
    const writer = new JsonbCopyWriter();
    const out: ByteOut = {
      buf: Buffer.alloc(16),
      at: 0,
      // Grows to exactly what is asked for: a write past the room the writer asked for is lost, and caught.
      ensure(n) {
        if (this.at + n > this.buf.length) {
          const grown = Buffer.alloc(this.at + n);
          this.buf.copy(grown, 0, 0, this.at);
          this.buf = grown;
        }
      },
    };
    const random = Array.from({ length: 600 }, (_, i) => randomJson(i + 1));
    const cut = random.slice(0, 100).map((d) => d.slice(0, Math.floor(d.length / 2)));
    // The most each input byte can grow: commas and colons gaining a space, escapes doubled for COPY.
    const widest = [
      '[1,1,1,1,1,1,1,1]',
      '{"a":1,"b":[0,0],"c":{"d":0}}',
      `"${'\\\\'.repeat(20)}"`,
      `"${'\\u0001'.repeat(9)}\\""`,
    ];
    const docs = [
      ...SPELLED,
      ...AS_WRITTEN,
      ...random,
      ...cut,
      ...widest,
      '',
      '  ',
      '-',
      '[-',
      '"\\',
      '{"a":1,}',
    ];
    let written = 0;
    // Each document alone, and between other bytes: nothing past its end may be read as part of it.
    for (const [prefix, suffix] of [
      ['', ''],
      ['xx', ']}0"e5'],
    ] as const) {
      for (const doc of docs) {
        const bytes = Buffer.from(`${prefix}${doc}${suffix}`, 'utf8');
        const start = Buffer.byteLength(prefix);
        out.at = 3;
        out.buf = out.buf.subarray(0, 3);
        const ok = writer.write(bytes, start, bytes.length - Buffer.byteLength(suffix), out);
        if (ok) {
          written++;
          expect(out.buf.toString('utf8', 3, out.at), doc).toBe(encode(doc));
        } else expect(out.at).toBe(3);
      }
    }
    // The string path is left only the rarer forms (keys with escapes: about half the random documents).
    expect(written).toBeGreaterThan(900);
    for (const doc of SPELLED.slice(0, 3)) {
      out.at = 0;
      expect(writer.write(Buffer.from(doc), 0, Buffer.byteLength(doc), out), doc).toBe(true);
    }
    for (const doc of ['{"a": 1e2}', '{"a": "\\u0000"}', '{"a": 1, "a": 2}', '{"\\n": 1}', '[1,]']) {
      out.at = 0;
      expect(writer.write(Buffer.from(doc), 0, Buffer.byteLength(doc), out), doc).toBe(false);
    }
    // Not UTF-8: left to the string path (which decodes it as the row path does).
    const bad = Buffer.from([0x22, 0xc3, 0x28, 0x22]);
    out.at = 0;
    expect(writer.write(bad, 0, bad.length, out)).toBe(false);
  });

  it('writes encoded rows the target prints back byte for byte; a value the target changes is caught', async () => {
    const { db, dialect } = await setup(
      'pg copy form',
      `${KINDS_SQL('a')} ${KINDS_SQL('b')} ${KINDS_SQL('c')} ${stateSql('a', 'b', 'c')}
       CREATE FUNCTION bump() RETURNS trigger LANGUAGE plpgsql AS
         $$ BEGIN IF NEW.id = 7000000049 THEN NEW.note := 'changed'; END IF; RETURN NEW; END $$;
       CREATE TRIGGER bump BEFORE INSERT ON c FOR EACH ROW EXECUTE FUNCTION bump();`,
    );
    const info = (await dialect.describeTable({ schema: 'public', name: 'a' }))!;
    const rows = mysqlLikeRows();
    const batch = dialect.encodeBatch(info.columns, rows);
    expect(batch.count).toBe(rows.length);
    expect(batch.copyText).toBeDefined();
    // Decoding the text gives the same values (compared as the cache's row JSON, which is canonical).
    const json = rowJsonEncoder(info.columns);
    expect(batch.rows().map(json)).toEqual(rows.map(json));
    expect(batch.first).toEqual(batch.rows()[0]);
    expect(batch.last).toEqual(batch.rows()[rows.length - 1]);

    for (const [table, input] of [
      ['a', batch],
      ['b', rowsBatch(rows)],
    ] as const) {
      const writer = await upsertWriter(dialect, table, info.columns);
      try {
        const result = await writer.writeBatch(input, checkpointOf(table), true);
        expect(result.written).toBe(rows.length);
        expect(result.identical, table).toBe(true);
        expect(result.readBack).toBeNull();
      } finally {
        await writer.close();
      }
    }
    const printed = await copyOut(db.client, 'COPY (SELECT * FROM a ORDER BY id) TO STDOUT');
    expect(printed.equals(batch.copyText!.text)).toBe(true);
    const diff = await db.client.query(
      `SELECT count(*)::int AS n FROM ((SELECT x::text FROM a x EXCEPT ALL SELECT y::text FROM b y)
       UNION ALL (SELECT y::text FROM b y EXCEPT ALL SELECT x::text FROM a x)) d`,
    );
    expect(diff.rows[0].n).toBe(0);

    const writer = await upsertWriter(dialect, 'c', info.columns);
    try {
      const result = await writer.writeBatch(batch, checkpointOf('c'), true);
      expect(result.identical).toBeUndefined();
      const back = new Map(result.readBack!.map((r) => [r[0], r]));
      expect(back.size).toBe(rows.length);
      for (const row of rows) {
        const got = back.get(row[0] as string)!;
        if (row[0] === '7000000049') expect(got[4]).toBe('changed');
        else expect(json(got)).toBe(json(row));
      }
    } finally {
      await writer.close();
    }
  });

  it('creates the staging table only for a batch that meets existing keys, and again after a rollback took it', async () => {
    const { db, dialect } = await setup(
      'pg stage',
      `CREATE TABLE t (id int PRIMARY KEY, qty int CHECK (qty >= 0)); INSERT INTO t VALUES (1, 1);
       ${stateSql('t')}`,
    );
    const stage = async (client: { query: typeof db.client.query }) =>
      (await client.query("SELECT count(*)::int AS n FROM pg_class WHERE relname = '_migrate_stage'")).rows[0]
        .n;
    const info = (await dialect.describeTable({ schema: 'public', name: 't' }))!;
    const writer = await upsertWriter(dialect, 't', info.columns);
    try {
      // New keys and an empty batch: COPY straight into the target, no staging table.
      expect((await writer.writeBatch([['2', '2']], checkpointOf('t', 1), true)).written).toBe(1);
      expect((await writer.writeBatch([], checkpointOf('t', 1), true)).written).toBe(0);
      expect(await stage(db.client)).toBe(0);
      // Key 1 exists: the batch goes through the staging table, created in its transaction; the row that
      // breaks the CHECK rolls that transaction back, the table with it. (The direct COPY meets key 1 first:
      // it checks its rows' constraints a thousand at a time, before their keys.)
      const many = Array.from({ length: 1100 }, (_, i) => [String(10 + i), '0']);
      await expect(
        writer.writeBatch([['1', '5'], ...many, ['3', '-1']], checkpointOf('t', 2), true),
      ).rejects.toThrow(/check constraint/);
      expect(await stage(db.client)).toBe(0);
      // The next batch creates it again, and is written.
      expect(
        (
          await writer.writeBatch(
            [
              ['1', '5'],
              ['3', '3'],
            ],
            checkpointOf('t', 2),
            true,
          )
        ).written,
      ).toBe(2);
      const rows = await db.client.query('SELECT id, qty FROM t ORDER BY id');
      expect(rows.rows).toEqual([
        { id: 1, qty: 5 },
        { id: 2, qty: 2 },
        { id: 3, qty: 3 },
      ]);
      expect(await stage(db.client)).toBe(1);
    } finally {
      await writer.close();
    }
  });
});
