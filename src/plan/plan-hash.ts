/**
 * The plan's hash, which keys its checkpoints: a change to the plan is noticed, a rotated password is not.
 */
import { createHash } from 'node:crypto';
import { maskUrl } from '../secrets.js';
import type { Plan } from './schema.js';

/**
 * sha256 of the validated plan (defaults applied) in sortedKeyJson, with URL passwords and the cache
 * password masked: rotating a password does not change it, any other edit does.
 */
export function planHash(plan: Plan): string {
  const masked: Plan = {
    ...plan,
    source: { url: maskUrl(plan.source.url) },
    target: { url: maskUrl(plan.target.url) },
    ...(plan.cache
      ? { cache: { ...plan.cache, password: plan.cache.password === undefined ? undefined : '***' } }
      : {}),
  };
  return createHash('sha256').update(sortedKeyJson(masked)).digest('hex');
}

/**
 * The hash's stable serialisation: JSON with every object's keys sorted and undefined members left out, so
 * the same plan gives the same text whatever order its file wrote the keys in.
 */
function sortedKeyJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(sortedKeyJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${sortedKeyJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
