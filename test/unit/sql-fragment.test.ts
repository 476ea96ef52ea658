// The scanner that keeps a plan's raw SQL inside the parentheses it is placed in (db/sql-fragment.ts): what
// each database reads as a string, an identifier or a comment hides parentheses; everything else counts.
import { describe, expect, it } from 'vitest';
import { FRAGMENT_SYNTAX as MYSQL } from '../../src/db/mysql/sql.js';
import { FRAGMENT_SYNTAX as POSTGRES } from '../../src/db/postgres/sql.js';
import { enclose, type FragmentSyntax, fragmentProblem } from '../../src/db/sql-fragment.js';
import { FRAGMENT_SYNTAX as SQLITE } from '../../src/db/sqlite/sql.js';

const problem = (syntax: FragmentSyntax, text: string) =>
  fragmentProblem(text, syntax, 'where')?.message ?? null;

describe('fragmentProblem', () => {
  it('accepts balanced conditions with parentheses hidden in strings, identifiers and comments', () => {
    for (const where of [
      "note = ')' AND (a OR b)",
      'qty < 500 -- small ) ones',
      '"odd)name" > 0 /* ) */',
      'note = $$)$$ AND tag = $x$ ( $x$',
      "note = E'\\')' AND a$1 = 2",
      "note = 'it''s ('",
      'qty < 500 /* outer /* ( */ ) */',
    ]) {
      expect(problem(POSTGRES, where), where).toBeNull();
    }
    for (const where of [
      "note = '\\')' AND `a)` = 1",
      'note = "\\")" # )',
      'qty < 500 -- )',
      'qty < 5 --',
      'a = 1 /*+ hint ) */',
    ]) {
      expect(problem(MYSQL, where), where).toBeNull();
    }
    for (const where of ["note = ')'", '[odd)name] = 1', '`a)` = "b)"', "note = '\\' AND (1)"]) {
      expect(problem(SQLITE, where), where).toBeNull();
    }
  });

  it('refuses what would close, or leave open, the parentheses it is placed in', () => {
    expect(problem(POSTGRES, 'qty < 500) OR (true')).toMatch(/closes a parenthesis it did not open/);
    expect(problem(POSTGRES, '(qty < 500')).toMatch(/never closed/);
    // Without standard strings a backslash would hide the quote: the session fixes them on.
    expect(problem(POSTGRES, "note = '\\') OR (true --'")).toMatch(/closes a parenthesis/);
    // MySQL's `--` needs a space after it: `--x` is code.
    expect(problem(MYSQL, 'a = 1 --x) OR (1=1')).toMatch(/closes a parenthesis/);
    // A string with MySQL's backslash escapes does not end at `\'`.
    expect(problem(MYSQL, "note = '\\') OR (1=1")).toMatch(/string is never closed/);
    // MySQL block comments do not nest.
    expect(problem(MYSQL, 'a = 1 /* /* */ ) OR (1=1')).toMatch(/closes a parenthesis/);
    expect(problem(SQLITE, "id < 100) OR ('x' = 'x'")).toMatch(/closes a parenthesis/);
  });

  it('refuses comments, strings and identifiers that never end', () => {
    expect(problem(POSTGRES, 'qty < 500 /* small')).toMatch(/`\/\*` comment is never closed/);
    expect(problem(POSTGRES, 'qty < 500 /* a /* b */')).toMatch(/`\/\*` comment is never closed/);
    expect(problem(POSTGRES, "note = 'x")).toMatch(/string is never closed/);
    expect(problem(POSTGRES, 'note = $a$x$b$')).toMatch(/\$a\$ string is never closed/);
    expect(problem(SQLITE, '[odd = 1')).toMatch(/quoted identifier is never closed/);
    expect(problem(MYSQL, 'a = 1 /* x')).toMatch(/never closed/);
  });

  it('refuses a second statement, parameter markers and executable comments', () => {
    expect(problem(POSTGRES, 'a = 1; DROP TABLE t')).toMatch(/`;` ends the statement/);
    expect(problem(POSTGRES, 'id > $1')).toMatch(/`\$1` is a parameter marker/);
    expect(problem(POSTGRES, 'id > 1$1')).toMatch(/parameter marker/);
    expect(problem(SQLITE, 'id > ?')).toMatch(/parameter marker/);
    expect(problem(SQLITE, 'id > :low')).toMatch(/`:low` is a parameter marker/);
    expect(problem(SQLITE, 'id > @low')).toMatch(/parameter marker/);
    expect(problem(MYSQL, 'a = 1 /*!) OR (1=1 */')).toMatch(/executable comment/);
    expect(problem(MYSQL, 'a = 1 /*M!) OR (1=1 */')).toMatch(/executable comment/);
  });

  it('refuses control characters, where databases disagree on where a line comment ends', () => {
    // PostgreSQL ends a `--` comment at a carriage return: the rest would be code.
    expect(problem(POSTGRES, 'a = 1 -- x\r) OR (true')).toMatch(/control character \(U\+000D\)/);
    expect(problem(MYSQL, 'a = 1 # x\u0000) OR (1=1')).toMatch(/control character \(U\+0000\)/);
    expect(problem(POSTGRES, 'a = 1\t-- tab\n AND b = 2')).toBeNull();
  });

  it('refuses a where of nothing but comments', () => {
    expect(problem(POSTGRES, '-- nothing')).toMatch(/is empty/);
    expect(problem(MYSQL, '# nothing')).toMatch(/is empty/);
  });

  it('encloses the text with a newline, so that a trailing line comment ends before the `)`', () => {
    expect(enclose('a = 1 -- note')).toBe('(a = 1 -- note\n)');
  });
});
