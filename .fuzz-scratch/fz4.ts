import { parsePlan } from '../src/plan/load.ts';
for (const text of ['a: &a [*a]', 'a: &a\n  <<: *a\n', 'a: *nope\n', 'version: &v 1\nname: *v\n']) {
  try { parsePlan(text, 'f.yaml', {}); console.log('valid'); }
  catch (e) { console.log((e as Error).constructor.name, (e as Error).message.slice(0, 100).replace(/\n/g, ' | '), ((e as Error).stack ?? '').split('\n').filter(l => l.includes('at ')).slice(0, 4).join(' / ')); }
}
