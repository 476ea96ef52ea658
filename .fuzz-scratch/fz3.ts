import { parsePlan } from '../src/plan/load.ts';
for (const n of [1000, 3000, 5000, 10000, 20000]) {
  const text = 'a: ' + '['.repeat(n);
  const t = Date.now();
  try { parsePlan(text, 'f.yaml', {}); console.log(n, 'valid'); }
  catch (e) { console.log(n, (e as Error).constructor.name, (e as Error).message.slice(0, 150).replace(/\n/g, ' | '), Date.now() - t, ((e as Error).stack ?? '').split('\n').slice(1, 6).join(' / ')); }
}
