/**
 * The syntax of a cache key template: `{name}` is a placeholder for a source column; `{{` and `}}` are a
 * literal `{` and `}`; any other brace is an error, as is a template with no placeholder or two placeholders
 * with nothing between. Part of the plan's language, so the plan checks it offline; cache/key-template.ts
 * compiles it.
 */
/** A parsed template: `literals[i]` comes before `columns[i]`; `literals` has one more item (the tail). */
export interface ParsedTemplate {
  literals: string[];
  columns: string[];
}

class TemplateSyntaxError extends Error {}

/** Parses a template; throws a TemplateSyntaxError naming the character where it goes wrong. */
export function parseTemplate(template: string): ParsedTemplate {
  const literals: string[] = [];
  const columns: string[] = [];
  let literal = '';
  for (let i = 0; i < template.length; ) {
    const c = template[i]!;
    const next = template[i + 1];
    if ((c === '{' || c === '}') && next === c) {
      literal += c;
      i += 2;
    } else if (c === '}') {
      throw new TemplateSyntaxError(
        `\`}\` at character ${i + 1} closes nothing (write \`}}\` for a literal \`}\`)`,
      );
    } else if (c === '{') {
      const end = template.slice(i + 1).search(/[{}]/);
      const close = end < 0 ? -1 : i + 1 + end;
      if (close < 0 || template[close] !== '}') {
        throw new TemplateSyntaxError(
          `\`{\` at character ${i + 1} is not closed by \`}\` (write \`{{\` for a literal \`{\`)`,
        );
      }
      if (close === i + 1) throw new TemplateSyntaxError(`\`{}\` at character ${i + 1} names no column`);
      literals.push(literal);
      columns.push(template.slice(i + 1, close));
      literal = '';
      i = close + 1;
    } else {
      literal += c;
      i++;
    }
  }
  literals.push(literal);
  return { literals, columns };
}

/**
 * What makes a template able to render one key for two distinct rows by its shape alone, or undefined.
 * (Whether its columns identify a row is for the databases to say: see `engine/mapping/cache.ts`.)
 */
export function templateProblem(template: string): string | undefined {
  let parsed: ParsedTemplate;
  try {
    parsed = parseTemplate(template);
  } catch (error) {
    if (error instanceof TemplateSyntaxError) return `unbalanced brace: ${error.message}`;
    throw error;
  }
  if (parsed.columns.length === 0) {
    return 'the template has no {column} placeholder, so every row gets the same key: reference the key columns, e.g. "order:{id}"';
  }
  for (let i = 1; i < parsed.columns.length; i++) {
    if (parsed.literals[i] === '') {
      const [a, b] = [parsed.columns[i - 1], parsed.columns[i]];
      return `{${a}}{${b}} has nothing between the placeholders, so ("1", "23") and ("12", "3") render the same key: put a separator between them, e.g. "{${a}}:{${b}}"`;
    }
  }
  return undefined;
}

/** The `{name}` placeholders of a template, in order (a name may repeat). */
export function templateColumns(template: string): string[] {
  return parseTemplate(template).columns;
}
