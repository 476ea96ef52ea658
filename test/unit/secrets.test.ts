// The masks of secrets.ts and the URL check of plan/url-check.ts: pure functions, no servers.
import { describe, expect, it } from 'vitest';
import { urlProblem } from '../../src/plan/url-check.js';
import {
  isKeyValueString,
  isSchemelessUrl,
  isSchemeUrl,
  maskUrl,
  redact,
  rememberSecret,
  secretsIn,
} from '../../src/secrets.js';

describe('maskUrl', () => {
  it.each([
    ['postgres://app:pw@db:5432/shop', 'postgres://app:***@db:5432/shop'],
    [
      'postgres://app@db/shop?password=pw&sslmode=require',
      'postgres://app@db/shop?password=***&sslmode=require',
    ],
    [
      'postgres://app@db/shop?sslpassword=k&application_name=x',
      'postgres://app@db/shop?sslpassword=***&application_name=x',
    ],
    ['mysql://app@db/shop?password1=a&password2=b', 'mysql://app@db/shop?password1=***&password2=***'],
    // Unencoded `#`, `/`, `?` and `@` in the password: the user info runs to the last `@`.
    ['postgres://app:p#a/s?s@w@db/shop', 'postgres://app:***@db/shop'],
    ['postgres://app:pw@[::1:5432/shop', 'postgres://app:***@[::1:5432/shop'],
    ['app:pw@db:5432/shop', 'app:***@db:5432/shop'],
    ["host=db password='p w\\'x' dbname=shop", 'host=db password=*** dbname=shop'],
    ['host=db sslpassword=k password=pw', 'host=db sslpassword=*** password=***'],
    ['postgres://app@db/shop', 'postgres://app@db/shop'],
    ['sqlite:./local.db', 'sqlite:./local.db'],
  ])('%s', (url, masked) => {
    expect(maskUrl(url)).toBe(masked);
  });
});

describe('secretsIn', () => {
  it('finds the password of every form, as written and decoded', () => {
    expect(secretsIn('postgres://app:p%23w@db/shop')).toEqual(expect.arrayContaining(['p%23w']));
    expect(secretsIn('postgres://app:p#w/x@db/shop')).toContain('p#w/x');
    expect(secretsIn('postgres://app@db/shop?password=a%2Fb&x=1')).toContain('a%2Fb');
    expect(secretsIn('app:pw1234@db/shop')).toContain('pw1234');
    expect(secretsIn("host=db password='a b\\'c' user=x")).toContain("a b'c");
    expect(secretsIn('postgres://app@db/shop')).toEqual([]);
  });
});

describe('redact', () => {
  it('masks connection strings in free text, and remembered secrets in their forms', () => {
    expect(redact('error: postgres://a:pw@h/d: cannot connect')).toBe(
      'error: postgres://a:***@h/d: cannot connect',
    );
    expect(redact('(state in postgres://a@h/d?password=***, table x)')).toBe(
      '(state in postgres://a@h/d?password=***, table x)',
    );
    expect(redact('conninfo host=h password=pw dbname=d')).toBe('conninfo host=h password=*** dbname=d');
    const secret = 'Zq9#x/y"long-enough';
    rememberSecret(secret);
    for (const form of [
      secret,
      encodeURIComponent(secret),
      JSON.stringify(secret),
      Buffer.from(secret).toString('base64'),
    ]) {
      expect(redact(`before ${form} after`)).not.toContain('long-enough');
    }
    expect(redact(`x ${JSON.stringify({ message: `pw ${secret}` })}`)).toBe('x {"message":"pw ***"}');
  });

  it('does not search free text for a short secret (it would match ordinary words)', () => {
    rememberSecret('run');
    expect(redact('resume with: migrate run plan.yaml')).toBe('resume with: migrate run plan.yaml');
  });
});

describe('connection-string shapes', () => {
  it.each([
    ['postgres://app:pw@db/shop', 'url'],
    ['sqlite:./local.db', undefined],
    ['host=db password=pw', 'key-value'],
    ['  dbname = shop', 'key-value'],
    ['app:pw@db:5432/shop', 'schemeless'],
    ['app@db/shop', 'schemeless'],
    ['app:p w@db/shop', 'schemeless'],
    ['db.example.com', undefined],
  ])('%s is %s', (text, shape) => {
    // Asked in this order, as maskUrl does: `postgres://app:pw@db` also reads as `user:password@host`.
    const first = isSchemeUrl(text)
      ? 'url'
      : isKeyValueString(text)
        ? 'key-value'
        : isSchemelessUrl(text)
          ? 'schemeless'
          : undefined;
    expect(first).toBe(shape);
  });

  it('the plan refuses what the masks recognise as a URL without its scheme', () => {
    // A password with a space: masked as a schemeless URL, so the URL check names it as one too.
    expect(maskUrl('app:my pw@db/shop')).toBe('app:***@db/shop');
    const problem = urlProblem('app:my pw@db/shop');
    expect(problem).toMatch(/URL without its scheme/);
    expect(problem).not.toContain('my pw');
  });
});

describe('urlProblem', () => {
  it.each([
    ['postgres://app:p#w@db/shop', /holds a `\/`, `\?` or `#`.*percent-encode/],
    ['postgres://app:p/w@db/shop', /percent-encode/],
    ['mysql://app:p?w@db/shop', /percent-encode/],
    ['postgres://app:1234#w@db/shop', /an `@` after the host/],
    ['postgres://app:pw@[::1/shop', /IPv6 address.*\[::1\]:5432/],
    ['postgres://app:pw@::1]/shop', /`\]` without its `\[`/],
    ['postgres://app:100%@db/shop', /write a literal `%` as %25/],
    ['app:pw@db:5432/shop', /URL without its scheme/],
    ['host=db password=pw', /key=value.*not supported/],
    ['postgres:shop', /`\/\/` after the scheme/],
    ['http://db/shop', /expected a URL starting with/],
  ])('%s', (url, message) => {
    const problem = urlProblem(url);
    expect(problem).toMatch(message);
    expect(problem).not.toContain('pw');
  });

  it.each([
    'postgres://app:p%23w@db:5432/shop',
    'postgres://app@db/shop?password=p%23w',
    'mysql://app:pw@[::1]:3306/shop',
    'mariadb://app@db/shop',
    'postgresql://db/shop?options=a%40b',
    'sqlite:./local.db',
  ])('accepts %s', (url) => {
    expect(urlProblem(url)).toBeUndefined();
  });
});
