/**
 * The secrets a plan holds (docs/plan.md "Passwords and secrets"), found in its YAML after interpolation,
 * noted for every later output, and masked in the plan's own error messages.
 */
import { type Document, isMap, isScalar, isSeq, type Node } from 'yaml';
import type { PlanIssue } from '../errors.js';
import { decodeOr, isSchemeUrl, isSecretKey, redact, rememberSecret, secretsIn } from '../secrets.js';
import type { PlanPath } from './yaml-positions.js';

/** A path whose last key names a secret (`cache.password`): its value is never shown. */
export function isSecretPath(path: PlanPath): boolean {
  const last = path[path.length - 1];
  return typeof last === 'string' && isSecretKey(last);
}

/** The plan's secrets, each also noted for everything printed later (secrets.ts `rememberSecret`). */
export function notePlanSecrets(doc: Document): Set<string> {
  const secrets = new Set<string>();
  collectSecrets(secrets, doc.contents as Node | null, false, false);
  for (const secret of secrets) rememberSecret(secret);
  return secrets;
}

/**
 * Belt and braces: no message carries a URL password or a secret of the plan, whatever produced it. Also
 * drops repeated issues and sorts them by position.
 */
export function redactIssues(doc: Document, issues: PlanIssue[]): PlanIssue[] {
  const secrets = [...notePlanSecrets(doc)].filter((s) => s.length >= 3).sort((a, b) => b.length - a.length);
  const seen = new Set<string>();
  const out: PlanIssue[] = [];
  for (const issue of issues) {
    let message = redact(issue.message);
    for (const secret of secrets) message = message.split(secret).join('***');
    const clean = { ...issue, message };
    const id = `${clean.line}:${clean.col}:${clean.path}:${clean.message}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(clean);
  }
  return out.sort((a, b) => a.line - b.line || a.col - b.col);
}

/**
 * Values under a password-like key (at any depth), and the secrets of connection strings: values under a
 * `url` key (whatever their form: a URL, a URL without its scheme, a libpq `key=value` string) and URLs
 * anywhere else.
 */
function collectSecrets(
  secrets: Set<string>,
  node: Node | null | undefined,
  secret: boolean,
  url: boolean,
): void {
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '';
      collectSecrets(secrets, pair.value as Node | null, secret || isSecretPath([key]), key === 'url');
    }
  } else if (isSeq(node)) {
    for (const item of node.items) collectSecrets(secrets, item as Node | null, secret, false);
  } else if (isScalar(node) && (typeof node.value === 'string' || typeof node.value === 'number')) {
    const text = String(node.value);
    if (secret && text !== '') secrets.add(text);
    if (typeof node.value !== 'string' || !(url || isSchemeUrl(text))) return;
    for (const password of secretsIn(text)) {
      secrets.add(password);
      secrets.add(decodeOr(password));
    }
  }
}
