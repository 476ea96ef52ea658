/** Step 3 for dates and times: the ranges and fractional-second precision a target column holds. */
import { type Converter, type ConvertOptions, excerpt, ValueError } from './converter.js';
import type { Column } from './value.js';

/** Fractional-second digits the type keeps: `(n)` in the type, else PostgreSQL's 6, MySQL's 0. */
export function fsp(to: Column, options: ConvertOptions): number {
  const m = /\((\d)\)/.exec(to.dbType);
  if (m) return Number(m[1]);
  const pg = options.target === 'postgres' || / with(out)? time zone/i.test(to.dbType);
  return pg ? 6 : options.target === 'mysql' ? 0 : 6;
}

/** A fraction with non-zero digits beyond `digits` would be rounded by the database. */
export function fractionGuard(to: Column, digits: number): Converter | null {
  if (digits >= 6) return null;
  return (v) => {
    if (typeof v !== 'string') return v;
    const dot = v.indexOf('.');
    if (dot < 0) return v;
    let end = dot + 1;
    while (end < v.length && v.charCodeAt(end) >= 48 && v.charCodeAt(end) <= 57) end++;
    for (let i = dot + 1 + digits; i < end; i++) {
      if (v.charCodeAt(i) !== 48) {
        throw new ValueError(
          `${excerpt(v)} has more fractional-second digits than ${to.dbType} keeps (${digits})`,
        );
      }
    }
    return v;
  };
}

/** MySQL dates: years 0000–9999, no `infinity`, no BC. PostgreSQL: no year 0. */
export function dateRangeGuard(to: Column, options: ConvertOptions): Converter | null {
  if (options.target === 'mysql') {
    return (v) => {
      if (typeof v !== 'string') return v;
      if (v.indexOf('-') !== 4 || v.endsWith(' BC') || v.includes('infinity')) {
        throw new ValueError(
          `${excerpt(v)} is outside the range of MySQL ${to.dbType} (years 0–9999, no BC, no infinity)`,
        );
      }
      return v;
    };
  }
  if (options.target === 'postgres') {
    return (v) => {
      if (typeof v === 'string' && v.startsWith('0000-'))
        throw new ValueError(`${excerpt(v)}: year 0 does not exist in PostgreSQL`);
      return v;
    };
  }
  return null;
}

const MYSQL_TIMESTAMP_MIN = '1970-01-01 00:00:01';
const MYSQL_TIMESTAMP_MAX = '2038-01-19 03:14:07.999999';

/** MySQL TIMESTAMP holds 1970-01-01 00:00:01 … 2038-01-19 03:14:07.999999 UTC. */
export function mysqlTimestampGuard(to: Column): Converter {
  return (v) => {
    if (typeof v === 'string' && (v < MYSQL_TIMESTAMP_MIN || v > MYSQL_TIMESTAMP_MAX)) {
      throw new ValueError(
        `${excerpt(v)} UTC is outside the range of MySQL ${to.dbType} (1970-01-01 00:00:01 to 2038-01-19 03:14:07 UTC); use DATETIME`,
      );
    }
    return v;
  };
}

const TIME = /^(-?)(\d+):(\d\d):(\d\d)(?:\.(\d+))?$/;

export function timeRangeGuard(to: Column, options: ConvertOptions): Converter | null {
  if (options.target === 'postgres') {
    return (v) => {
      if (typeof v !== 'string') return v;
      const m = TIME.exec(v);
      const hours = Number(m?.[2]);
      const beyond = hours === 24 && (m?.[3] !== '00' || m[4] !== '00' || /[1-9]/.test(m[5] ?? ''));
      if (!m || m[1] === '-' || hours > 24 || beyond) {
        throw new ValueError(
          `${excerpt(v)} is not a time of day (00:00:00–24:00:00) for PostgreSQL ${to.dbType}; use an interval column`,
        );
      }
      return v;
    };
  }
  if (options.target === 'mysql') {
    const max = 838 * 3600 + 59 * 60 + 59;
    return (v) => {
      if (typeof v !== 'string') return v;
      const m = TIME.exec(v);
      const seconds = m ? Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4]) : Number.NaN;
      if (!(seconds < max || (seconds === max && !/[1-9]/.test(m?.[5] ?? '')))) {
        throw new ValueError(`${excerpt(v)} is outside the range of MySQL TIME (-838:59:59 to 838:59:59)`);
      }
      return v;
    };
  }
  return null;
}
