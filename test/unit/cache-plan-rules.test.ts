// The offline cache rules of the plan: key template shape, TTL range (memcached's 32-bit expiry).
import { describe, expect, it } from 'vitest';
import { compileKeyTemplate } from '../../src/cache/key-template.js';
import { expiresField } from '../../src/cache/memcached/frames.js';
import type { Column } from '../../src/convert/value.js';
import { EXPIRY_MAX_UNIX_S, RELATIVE_TTL_MAX_S } from '../../src/plan/expiry.js';
import { templateColumns, templateProblem } from '../../src/plan/key-template-syntax.js';
import { ttlProblem } from '../../src/plan/schema.js';

describe('key template shape', () => {
  it.each([
    ['o:{id', /`\{` at character 3 is not closed/],
    ['o:{id}}', /`\}` at character 7 closes nothing/],
    ['}o:{id}', /`\}` at character 1 closes nothing/],
    ['o:{i{d}', /`\{` at character 3 is not closed/],
    ['o:{}', /`\{\}` at character 3 names no column/],
    ['constant', /no \{column\} placeholder/],
    ['{{id}}', /no \{column\} placeholder/],
    ['{a}{b}', /nothing between the placeholders/],
  ])('%s is refused', (template, message) => {
    expect(templateProblem(template)).toMatch(message);
  });

  it.each(['o:{id}', '{a}:{b}', 'x{{{id}}}', '{id}', 'a b:{c d}'])('%s is accepted', (template) => {
    expect(templateProblem(template)).toBeUndefined();
  });

  it('renders doubled braces as one, and names its placeholders', () => {
    const columns: Column[] = [{ name: 'id', kind: 'int', dbType: 'int', nullable: false }];
    expect(templateColumns('x{{{id}}}:{id}')).toEqual(['id', 'id']);
    expect(compileKeyTemplate('x{{{id}}}:{id}', 'p:', columns, 'skip')(['42'])).toBe('p:x{42}:42');
  });
});

describe('TTL range', () => {
  const now = Date.UTC(2026, 11, 7); // 1796601600 s
  it('30 days and less are sent as is: always valid', () => {
    expect(ttlProblem(0, now)).toBeUndefined();
    expect(ttlProblem(RELATIVE_TTL_MAX_S, now)).toBeUndefined();
  });

  it('longer: now + ttl must not pass 2^31 - 1', () => {
    const longest = EXPIRY_MAX_UNIX_S - now / 1000;
    expect(ttlProblem(longest, now)).toBeUndefined();
    expect(ttlProblem(longest + 1, now)).toMatch(/must not pass 2147483647 \(2038-01-19T03:14:07Z\)/);
    expect(ttlProblem(3_000_000_000, now)).toMatch(`at most ${longest} seconds today`);
  });

  it('the wire field: as is up to 30 days, else now + ttl, never past 2^31 - 1', () => {
    expect(expiresField(RELATIVE_TTL_MAX_S, now)).toBe(RELATIVE_TTL_MAX_S);
    expect(expiresField(RELATIVE_TTL_MAX_S + 1, now)).toBe(now / 1000 + RELATIVE_TTL_MAX_S + 1);
    expect(expiresField(3_000_000_000, now)).toBe(EXPIRY_MAX_UNIX_S);
  });
});
