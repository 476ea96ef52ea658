import { parseDocument, LineCounter } from 'yaml';
for (const n of [5000, 20000, 50000, 100000]) {
  const text = 'a: ' + '['.repeat(n);
  const t = Date.now();
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  console.log(n, 'parsed', Date.now() - t, doc.errors.length, doc.errors[0]?.message.slice(0, 80));
}
