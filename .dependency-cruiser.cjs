/**
 * The layers of neurorx (ARCHITECTURE.md), checked by `npm run lint:layers`:
 *   core      src/{stream,dsp,ml,features,control,retrieval,util,types}, src/version.ts
 *   devices   devices/ (sources and sinks): core only
 *   pipelines pipelines/: core and devices
 *   app       src/{session,server,config,cli,plugins,bus,host}: anything below
 *   client    src/client: the browser client, nothing but itself (it runs in a page)
 *   pages     src/server/dashboard, examples/game, examples/stimulus: code that runs in a page (tsconfig.browser.json):
 *             itself, src/client and uPlot's types only
 * and no import cycles anywhere.
 */
const core = '^src/(stream|dsp|ml|features|control|retrieval|util|types)/|^src/version\\.ts$';
const app = '^src/(session|server|config|cli|plugins|bus|host)/';

module.exports = {
  forbidden: [
    { name: 'no-cycles', severity: 'error', comment: 'an import cycle', from: {}, to: { circular: true } },
    {
      name: 'core-imports-core-only',
      severity: 'error',
      comment: 'the core (src/stream, dsp, ml, features, control, retrieval, util) imports nothing above it',
      from: { path: core },
      to: { path: '^(src|devices|pipelines|examples)/', pathNot: core },
    },
    { name: 'devices-import-core-only', severity: 'error', comment: 'devices/ imports the core only', from: { path: '^devices/' }, to: { path: `^(pipelines|examples)/|${app}|^src/client/` } },
    {
      name: 'pipelines-import-core-and-devices',
      severity: 'error',
      comment: 'pipelines/ imports the core and devices/ only',
      from: { path: '^pipelines/' },
      to: { path: `^examples/|${app}|^src/client/` },
    },
    {
      name: 'client-stands-alone',
      severity: 'error',
      comment: 'src/client runs in a browser: it imports nothing of the rest',
      from: { path: '^src/client/' },
      to: { path: '^(src|devices|pipelines)/', pathNot: '^src/client/' },
    },
    {
      name: 'pages-import-client-only',
      severity: 'error',
      comment: 'the dashboard and the game run in a page: they import their own modules, src/client and uPlot (types) only',
      from: { path: '^(src/server/dashboard|examples/game|examples/stimulus)/' },
      to: { pathNot: '^(src/client|src/server/dashboard|examples/game|examples/stimulus)/|(^|/)node_modules/uplot/' },
    },
    { name: 'not-to-tests', severity: 'error', comment: 'shipped code never imports tests or benchmarks', from: { path: '^(src|devices|pipelines)/' }, to: { path: '^(test|bench)/' } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
