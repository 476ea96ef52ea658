import { Parser } from 'yaml';
for (const text of ['a: ' + '['.repeat(100000), Array.from({length: 3000}, (_, i) => ' '.repeat(i) + 'a:').join('\n'), 'tables:\n' + '- '.repeat(20000) + 'x\n', '{a: '.repeat(50000)]) {
  const t = Date.now();
  try { let n = 0; for (const tok of new Parser().parse(text)) n++; console.log('ok', n, Date.now() - t); } catch (e) { console.log('ERR', (e as Error).message, Date.now() - t); }
}
