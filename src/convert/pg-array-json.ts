/** PostgreSQL arrays (their text output) into a JSON column: a MySQL JSON array (convert.ts). */
import { type Converter, excerpt, ValueError } from './converter.js';

type ElementForm = 'number' | 'bool' | 'json' | 'string';

function elementForm(arrayType: string): ElementForm {
  const t = arrayType.replace(/(\[\])+$/, '').replace(/\(.*\)$/, '');
  if (/^(smallint|integer|bigint|numeric|real|double precision|oid)$/.test(t)) return 'number';
  if (t === 'boolean') return 'bool';
  if (t === 'json' || t === 'jsonb') return 'json';
  return 'string';
}

const JSON_NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?$/;

/** `{1,2,NULL}` -> `[1,2,null]`, `{{"a b",c}}` -> `[["a b","c"]]` (PostgreSQL's array text output). */
export function pgArrayToJson(arrayType: string): Converter {
  const form = elementForm(arrayType);
  const element = (token: string, quoted: boolean): string => {
    if (!quoted && token.toUpperCase() === 'NULL') return 'null';
    switch (form) {
      case 'number':
        return JSON_NUMBER.test(token) ? token : JSON.stringify(token);
      case 'bool':
        return token === 't' ? 'true' : token === 'f' ? 'false' : JSON.stringify(token);
      case 'json':
        JSON.parse(token);
        return token;
      default:
        return JSON.stringify(token);
    }
  };
  return (v) => {
    if (v === null) return null;
    if (typeof v !== 'string' || !v.startsWith('{')) {
      throw new ValueError(
        `PostgreSQL array ${excerpt(v)} cannot be stored as JSON (only arrays with the default lower bound 1)`,
      );
    }
    let i = 0;
    let out = '';
    const fail = (): never => {
      throw new ValueError(`malformed PostgreSQL array: ${excerpt(v)}`);
    };
    const parseArray = (): void => {
      if (v[i] !== '{') fail();
      i++;
      out += '[';
      if (v[i] === '}') {
        i++;
        out += ']';
        return;
      }
      for (;;) {
        if (v[i] === '{') parseArray();
        else if (v[i] === '"') {
          let token = '';
          i++;
          while (i < v.length && v[i] !== '"') {
            if (v[i] === '\\') i++;
            token += v[i++] ?? '';
          }
          if (v[i] !== '"') fail();
          i++;
          out += element(token, true);
        } else {
          const start = i;
          while (i < v.length && v[i] !== ',' && v[i] !== '}') i++;
          out += element(v.slice(start, i), false);
        }
        if (v[i] === ',') {
          i++;
          out += ',';
        } else if (v[i] === '}') {
          i++;
          out += ']';
          return;
        } else fail();
      }
    };
    try {
      parseArray();
    } catch (error) {
      if (error instanceof ValueError) throw error;
      throw new ValueError(`PostgreSQL array ${excerpt(v)} has an element that is not valid JSON`);
    }
    if (i !== v.length) fail();
    return out;
  };
}
