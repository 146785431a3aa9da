/**
 * The dependency rules `npm test` checks (`npm run check:deps`). They keep the layers one-way:
 * bin (entry points) -> workers -> src -> jobs, and jobs depend on nothing of ours.
 * @type {import('dependency-cruiser').IConfiguration}
 */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import cycle: modules that cannot be understood, tested or loaded one without the other.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-circular-folders',
      severity: 'error',
      comment: 'Two folders that import each other (db <-> webhooks, say) are one module in disguise: pick a direction.',
      scope: 'folder',
      from: {},
      to: { circular: true },
    },
    {
      name: 'jobs-are-data',
      severity: 'error',
      comment: 'jobs/ holds each queue as data (name, payload schema, options) and depends on nothing of ours but itself.',
      from: { path: '^jobs/' },
      to: { pathNot: ['^jobs/', '^node_modules/zod/'], dependencyTypesNot: ['core'] },
    },
    {
      name: 'src-not-to-workers',
      severity: 'error',
      comment: 'workers/ is built from src/, never the other way round; process entry points live in bin/.',
      from: { path: '^src/' },
      to: { path: '^(workers|bin)/' },
    },
    {
      name: 'workers-not-to-bin',
      severity: 'error',
      comment: 'bin/ holds the process entry points: nothing imports them.',
      from: { pathNot: '^bin/' },
      to: { path: '^bin/' },
    },
    {
      name: 'database-driver-in-db',
      severity: 'error',
      comment: 'Sequelize and pg stay inside src/db (src/local starts a Postgres server of its own); the rest uses Database.',
      from: { path: '^(bin|src|workers|jobs)/', pathNot: '^src/(db|local)/' },
      to: { path: '^node_modules/(sequelize|pg|pg-[a-z-]+)/' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that does not resolve to a file.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
  },
};
