/**
 * A plan's raw SQL (a table's `where`, a `source: { query }`) is spliced into statements the tool builds:
 * `… WHERE (<where>\n) AND <keyset predicate>`, `FROM (<query>\n) AS "_q"`. Such text must not change the
 * shape of what it is placed in, so before it is used it is scanned here, with the database's own rules for
 * strings, quoted identifiers and comments, and refused when outside of those it has:
 *
 * - a `)` that closes a parenthesis it did not open, or a `(` it leaves open (`qty < 500) OR (true`);
 * - a `;` (a second statement);
 * - a string, quoted identifier or `/* …` comment that does not end;
 * - a parameter marker (`$1`, `?`, `:name`), which would take the tool's own key parameters;
 * - a MySQL executable comment (`/*! … *\/`), which the server runs as SQL;
 * - a control character other than tab and newline (where a line comment ends differs between databases).
 *
 * The newline after the text ends a trailing line comment (`-- …`, `#`) before the tool's closing `)`.
 * Scanning is conservative: where a dialect reads text in two ways (PostgreSQL's `standard_conforming_strings`,
 * MySQL's NO_BACKSLASH_ESCAPES), the session fixes the one scanned for (postgres/connect.ts, mysql/connect.ts).
 */

import { UsageError } from '../errors.js';

/** How a database reads strings, quoted identifiers, comments and parameters (see each dialect's sql.ts). */
export interface FragmentSyntax {
  /** The database's name for messages. */
  name: string;
  /** Characters that open a string literal. */
  strings: string;
  /** Backslash escapes in every string (MySQL); PostgreSQL: only in `E'…'`. */
  backslash: 'always' | 'e-prefix' | 'never';
  /** Opening -> closing character of quoted identifiers (doubled inside to escape, except `[…]`). */
  identifiers: Record<string, string>;
  /** `--` starts a comment only before whitespace or a control character (MySQL). */
  dashNeedsSpace: boolean;
  /** `#` starts a line comment (MySQL). */
  hashComment: boolean;
  /** `/* … *\/` comments nest (PostgreSQL). */
  nestedComments: boolean;
  /** `/*!` and `/*M!` comments are SQL the server runs (MySQL/MariaDB): refused. */
  executableComments: boolean;
  /** `$tag$ … $tag$` strings (PostgreSQL). */
  dollarQuotes: boolean;
  /** Parameter markers, tested where a token starts: PostgreSQL `$1`; MySQL `?`; SQLite `?`, `?1`, `:x`, `@x`, `$x`. */
  parameter: RegExp | null;
}

/** What makes a fragment unusable, and where in it (0-based character offset; null: the whole fragment). */
export interface FragmentProblem {
  message: string;
  offset: number | null;
}

/** `where`: an expression inside `( … )`; `query`: a whole SELECT used as a derived table. */
export type FragmentKind = 'where' | 'query';

/** The text as it is placed in a statement: in parentheses, with a newline that ends a line comment. */
export function enclose(text: string): string {
  return `(${text}\n)`;
}

const IDENT = /[\p{L}\p{N}_$\u0080-\uffff]/u;

function isIdentChar(c: string | undefined): boolean {
  return c !== undefined && IDENT.test(c);
}

/** The first problem of `text` as a `kind` of the database of `syntax`, or null when it can be enclosed. */
export function fragmentProblem(
  text: string,
  syntax: FragmentSyntax,
  kind: FragmentKind,
): FragmentProblem | null {
  return new Scanner(text, syntax, kind).scan();
}

class Scanner {
  private at = 0;
  private readonly opened: number[] = [];
  private code = false;

  constructor(
    private readonly text: string,
    private readonly syntax: FragmentSyntax,
    private readonly kind: FragmentKind,
  ) {}

  scan(): FragmentProblem | null {
    const { text } = this;
    // Databases end line comments at different characters (PostgreSQL at `\r` too, MariaDB at NUL) and
    // PostgreSQL cuts a statement at NUL: such characters are refused outright rather than scanned.
    const control = /[\u0000-\u0008\u000b-\u001f\u007f]/.exec(text);
    if (control) {
      const code = control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
      return {
        offset: control.index,
        message: `a control character (U+${code}) is not allowed here: write it with an escape or a function such as chr()`,
      };
    }
    while (this.at < text.length) {
      const start = this.at;
      const problem = this.token();
      if (problem) return problem;
      if (this.at === start) this.at++;
    }
    const open = this.opened.at(-1);
    if (open !== undefined) {
      return { offset: open, message: 'this `(` is never closed' };
    }
    if (!this.code) {
      return { offset: null, message: `the ${this.kind} is empty (nothing but comments and spaces)` };
    }
    return null;
  }

  /** Reads one token at `at` (moving `at` past it); a problem ends the scan. */
  private token(): FragmentProblem | null {
    const { text, syntax } = this;
    const at = this.at;
    const c = text[at]!;
    const next = text[at + 1];
    if (/\s/.test(c)) {
      this.at++;
      return null;
    }
    if (c === '-' && next === '-' && (!syntax.dashNeedsSpace || this.spaceOrEnd(at + 2))) {
      this.lineComment();
      return null;
    }
    if (c === '#' && syntax.hashComment) {
      this.lineComment();
      return null;
    }
    if (c === '/' && next === '*') return this.blockComment();
    this.code = true;
    if (syntax.strings.includes(c)) return this.quoted(c, this.backslashAt(at), 'string');
    const close = syntax.identifiers[c];
    if (close !== undefined) return this.quoted(close, false, 'quoted identifier', c === '[');
    if (this.inWord(at)) {
      this.at++;
      return null;
    }
    if (syntax.parameter) {
      const m = syntax.parameter.exec(text.slice(at, at + 64));
      if (m && m.index === 0) {
        return {
          offset: at,
          message: `\`${m[0]}\` is a parameter marker, which would take the tool's own parameters: write the value itself`,
        };
      }
    }
    if (c === '$' && syntax.dollarQuotes) {
      const tag = /^\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/u.exec(text.slice(at));
      if (tag) return this.dollarQuoted(tag[0]);
    }
    if (c === ';') {
      const one = this.kind === 'where' ? 'one condition' : 'one SELECT';
      return { offset: at, message: `a \`;\` ends the statement: write ${one}, without \`;\`` };
    }
    if (c === '(') this.opened.push(at);
    if (c === ')') {
      if (this.opened.pop() === undefined) {
        return {
          offset: at,
          message: 'this `)` closes a parenthesis it did not open: parentheses must balance within it',
        };
      }
    }
    this.at++;
    return null;
  }

  /**
   * The character at `at` continues a word begun before it (`a$1` is one identifier in PostgreSQL and SQLite,
   * not `a` and a parameter); a number's digits do not begin a word (`1$1` is a number and a parameter).
   */
  private inWord(at: number): boolean {
    if (!/[\p{L}\p{N}_$]/u.test(this.text[at]!)) return false;
    let i = at;
    while (i > 0 && isIdentChar(this.text[i - 1])) i--;
    return i < at && !/[0-9]/.test(this.text[i]!);
  }

  /** The character at `i` is whitespace or a control character, or the text ends there (a newline follows). */
  private spaceOrEnd(i: number): boolean {
    const c = this.text[i];
    return c === undefined || c.charCodeAt(0) <= 32;
  }

  /** A PostgreSQL `E'…'` (E not part of a longer word), or any string of a database with backslash escapes. */
  private backslashAt(at: number): boolean {
    if (this.syntax.backslash !== 'e-prefix') return this.syntax.backslash === 'always';
    const prev = this.text[at - 1];
    return (prev === 'e' || prev === 'E') && !isIdentChar(this.text[at - 2]);
  }

  private lineComment(): void {
    const nl = this.text.indexOf('\n', this.at);
    this.at = nl < 0 ? this.text.length : nl + 1;
  }

  private blockComment(): FragmentProblem | null {
    const { text, syntax } = this;
    const start = this.at;
    if (syntax.executableComments && /^\/\*(M?!)/.test(text.slice(start, start + 4))) {
      return {
        offset: start,
        message: `\`${text.slice(start, start + 4)}\` starts an executable comment, which ${syntax.name} runs as SQL: remove it`,
      };
    }
    let depth = 0;
    let i = start;
    while (i < text.length) {
      if (text.startsWith('/*', i) && (depth === 0 || syntax.nestedComments)) {
        depth++;
        i += 2;
      } else if (text.startsWith('*/', i)) {
        depth--;
        i += 2;
        if (depth === 0) {
          this.at = i;
          return null;
        }
      } else i++;
    }
    return { offset: start, message: 'this `/*` comment is never closed with `*/`' };
  }

  private quoted(
    close: string,
    backslash: boolean,
    what: string,
    noDoubling = false,
  ): FragmentProblem | null {
    const { text } = this;
    const start = this.at;
    let i = start + 1;
    while (i < text.length) {
      const c = text[i];
      if (backslash && c === '\\') i += 2;
      else if (c === close) {
        if (!noDoubling && text[i + 1] === close) i += 2;
        else {
          this.at = i + 1;
          return null;
        }
      } else i++;
    }
    return { offset: start, message: `this ${what} is never closed (a \`${close}\` is missing)` };
  }

  private dollarQuoted(tag: string): FragmentProblem | null {
    const start = this.at;
    const end = this.text.indexOf(tag, start + tag.length);
    if (end < 0) return { offset: start, message: `this ${tag} string is never closed with ${tag}` };
    this.at = end + tag.length;
    return null;
  }
}

/**
 * `enclose(text)` after checking it again (plans are checked when loaded; this guards every other way a
 * source reaches a dialect). Throws a UsageError naming the problem.
 */
export function encloseChecked(text: string, syntax: FragmentSyntax, kind: FragmentKind): string {
  const problem = fragmentProblem(text, syntax, kind);
  if (problem) {
    throw new UsageError(`the ${kind} ${JSON.stringify(text)} cannot be used: ${problem.message}`, {
      hint: `fix the table's \`${kind}\` in the plan`,
    });
  }
  return enclose(text);
}
