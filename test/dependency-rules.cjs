/**
 * The layering of src/, checked by dependency-cruiser in `npm test` (ARCHITECTURE.md explains it).
 * A folder may import only the folders listed for it; no import cycle between folders or
 * between modules; in xds, the server and the client share only the resource codecs.
 */
const MAY_IMPORT = {
  common: [],
  model: ['common'],
  registry: ['common', 'model'],
  balancers: ['common', 'model'],
  health: ['common', 'model'],
  http: ['common', 'model'],
  wire: ['common', 'model'],
  auth: ['common', 'model'],
  tls: ['common', 'model'],
  // The DNS answerer and server, shared by the hub (over the registry) and the sidecar (over its xDS view).
  dns: ['common', 'model'],
  // The AWS Cloud Map dialect: registry calls, the hub's access check, the HTTP body pieces.
  cloudmap: ['common', 'model', 'registry', 'http', 'auth'],
  // The Consul HTTP API dialect: the same pieces as Cloud Map.
  consul: ['common', 'model', 'registry', 'http', 'auth'],
  // The Eureka dialect: the same pieces as Cloud Map.
  eureka: ['common', 'model', 'registry', 'http', 'auth'],
  metrics: ['common', 'model', 'registry'],
  // The dashboards' browser files: plain ES modules that import only preact and htm.
  ui: [],
  config: ['common', 'model', 'registry', 'health', 'auth'],
  xds: ['common', 'model', 'registry', 'balancers', 'metrics'],
  proxy: ['common', 'model', 'balancers', 'metrics'],
  k8s: ['common', 'model', 'registry', 'health', 'http', 'config'],
  hub: ['common', 'model', 'registry', 'balancers', 'http', 'wire', 'auth', 'tls', 'metrics', 'config', 'xds', 'k8s', 'dns', 'cloudmap', 'consul', 'eureka'],
  sidecar: ['common', 'model', 'balancers', 'health', 'http', 'wire', 'metrics', 'config', 'xds', 'proxy', 'dns'],
  demo: ['common', 'model', 'config', 'auth', 'hub', 'sidecar'],
  cli: ['common', 'model', 'config', 'hub', 'sidecar', 'k8s', 'demo', 'wire', 'http', 'tls'],
};

const layerRules = Object.entries(MAY_IMPORT).map(([folder, allowed]) => ({
  name: `layer-${folder}`,
  comment: `src/${folder} may import only ${allowed.length === 0 ? 'itself' : `src/{${allowed.join(',')}}`} (ARCHITECTURE.md)`,
  severity: 'error',
  from: { path: `^src/${folder}/` },
  to: { path: '^src/', pathNot: [`^src/${folder}/`, ...allowed.map((a) => `^src/${a}/`)] },
}));

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'layer-unknown-folder',
      comment: 'every folder of src/ has a place in the layers: add a new one to MAY_IMPORT',
      severity: 'error',
      from: { path: '^src/', pathNot: `^src/(${Object.keys(MAY_IMPORT).join('|')})/` },
      to: {},
    },
    {
      name: 'xds-server-client-apart',
      comment: 'the ADS server and the ADS client share only src/xds/resources and the protocol files beside them',
      severity: 'error',
      from: { path: '^src/xds/(server|client)/' },
      to: { path: '^src/xds/(server|client)/', pathNot: '^src/xds/$1/' },
    },
    {
      name: 'xds-resources-below-server-and-client',
      severity: 'error',
      from: { path: '^src/xds/resources/' },
      to: { path: '^src/xds/(server|client)/' },
    },
    { name: 'no-folder-cycles', severity: 'error', scope: 'folder', from: { path: '^src/' }, to: { circular: true } },
    { name: 'no-module-cycles', severity: 'error', from: { path: '^src/' }, to: { circular: true } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: a cycle of types is still a cycle in the design.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
