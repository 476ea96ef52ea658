/**
 * The layers of src/, checked by `npm run lint` (dependency-cruiser). A module may import from its own layer
 * or a lower one, never a higher one:
 *
 *   cli  →  engine, verify  →  db, cache, convert  →  plan  →  errors.ts, secrets.ts, timing.ts
 *
 * and no cycles; the database drivers (and replication libraries) only inside their dialect folders, memjs only
 * in cache/.
 */
const layer = (name, paths) => ({ name, paths });
const layers = [
  layer('cli', ['^src/cli/']),
  layer('engine', ['^src/engine/', '^src/verify/']),
  layer('data', ['^src/db/', '^src/cache/', '^src/convert/']),
  layer('plan', ['^src/plan/']),
  layer('base', ['^src/errors\\.ts$', '^src/secrets\\.ts$', '^src/timing\\.ts$']),
];

const upward = [];
for (let i = 1; i < layers.length; i++) {
  upward.push({
    name: `no-${layers[i].name}-to-higher`,
    comment: `${layers[i].name} may not import a higher layer`,
    severity: 'error',
    from: { path: layers[i].paths },
    to: { path: layers.slice(0, i).flatMap((l) => l.paths) },
  });
}

const driver = (pkg, folder) => ({
  name: `${pkg}-only-in-${folder.replace(/\/$/, '').replaceAll('/', '-')}`,
  comment: `${pkg} is imported only inside src/${folder}`,
  severity: 'error',
  from: { path: '^src/', pathNot: `^src/${folder}` },
  to: { path: `node_modules/${pkg}/` },
});

module.exports = {
  forbidden: [
    ...upward,
    {
      name: 'no-cycles',
      comment: 'no import cycles (types included)',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    driver('pg', 'db/postgres/'),
    driver('pg-copy-streams', 'db/postgres/'),
    driver('pg-query-stream', 'db/postgres/'),
    driver('mysql2', 'db/mysql/'),
    driver('@vlasky/zongji', 'db/mysql/'),
    driver('better-sqlite3', 'db/sqlite/'),
    driver('memjs', 'cache/'),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
