import { parsePlan } from '../src/plan/load.ts';
import { PlanError } from '../src/errors.ts';
const cases: [string,string][] = [
 ['deep flow', 'version: 1\nname: x\nsource: ' + '['.repeat(5000) + ']'.repeat(5000)],
 ['deep flow 100k', 'a: ' + '['.repeat(100000)],
 ['deep block', Array.from({length: 3000}, (_, i) => ' '.repeat(i) + 'a:').join('\n')],
 ['laughs', 'a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n'],
 ['alias undefined', 'a: *nope\n'],
 ['merge', 'a: &a {x: 1}\nb: {<<: *a}\n'],
 ['tags', 'version: !!binary aGVsbG8=\nname: !foo bar\nsource: !!set {a, b}\n'],
 ['multi doc', 'version: 1\n---\nname: x\n'],
 ['directive', '%YAML 1.1\n---\nversion: 1\n'],
 ['bom nul', '\uFEFFversion: 1\u0000\n'],
 ['huge number', 'version: 1e400\nname: 99999999999999999999999999\n'],
 ['huge string', 'version: 1\nname: ' + 'x'.repeat(2_000_000) + '\n'],
 ['empty', ''],
 ['only comment', '# hi'],
 ['scalar', '42'],
 ['list', '- a\n- b'],
 ['self alias', 'a: &a [*a]'],
 ['recursive merge', 'a: &a\n  <<: *a\n'],
 ['key map', '? [a, b]\n: c\nversion: 1\n'],
 ['null key', '~: 1\nversion: 1'],
 ['toString', 'toString: 1\n__proto__: {x: 1}\nconstructor: 2\n'],
 ['tables proto', 'version: 1\nname: x\nsource: {url: "postgres://a"}\ntarget: {url: "postgres://b"}\ntables:\n  - source: a\n    columns: {__proto__: b, constructor: false}\n'],
 ['env weird', 'version: 1\nname: ${A:-${B}}\nsource: {url: "${}"}\ntarget: {url: "$${x} ${_:-}"}\n'],
];
for (const [label, text] of cases.filter(([l]) => !process.argv[2] || process.argv.slice(2).includes(l))) {
  const t = Date.now();
  try { parsePlan(text, 'f.yaml', {}); console.log(label, 'VALID', Date.now()-t); }
  catch (e) { if (e instanceof PlanError) { const bad = e.issues.filter(i => !(i.line>=1 && i.col>=1)); console.log(label, 'PlanError', e.issues.length, bad.length ? 'BADPOS '+JSON.stringify(bad) : '', Date.now()-t, e.issues[0]?.message.slice(0,100)); } else console.log(label, 'CRASH', (e as Error).constructor.name, (e as Error).message.slice(0,200), Date.now()-t); }
}
