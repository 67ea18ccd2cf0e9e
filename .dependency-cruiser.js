/**
 * The layers of src: each folder imports only from the folders below it (and from itself), and no
 * module imports itself back through a cycle. `npm run lint` runs it (depcruise src --config .dependency-cruiser.js).
 *
 *   bin                                      entry points
 *   daemon                                   the runtime; may run check and configure
 *   check, configure                         --check and -c, each on its own
 *   daemon-config                            the typed configuration, made from every module's schema
 *   listeners, backends                      one folder per transport and per backend
 *   core, module-kit                         the request core; what modules describe themselves with
 *   protocol, auth, util, libvirt, config,   the codec, auth, helpers, the libvirt client, the
 *   native (and version.ts)                  fence_virt.conf grammar, the native addon wrappers
 *
 * The guest agents (agent) use the bottom layer only.
 */
const folders = (...names) => names.map((n) => `^src/${n}/`).join('|');
const BOTTOM = ['protocol', 'auth', 'util', 'libvirt', 'config', 'native'];
const bottom = `${folders(...BOTTOM)}|^src/version\\.ts$`;

/** What each folder may import besides itself. */
const mayImport = {
  protocol: '',
  util: '',
  native: '',
  auth: folders('protocol', 'util'),
  config: folders('protocol', 'util'),
  libvirt: folders('protocol', 'util'),
  core: bottom,
  'module-kit': bottom,
  listeners: `${bottom}|${folders('core', 'module-kit')}`,
  backends: `${bottom}|${folders('core', 'module-kit')}`,
  'daemon-config': `${bottom}|${folders('core', 'module-kit', 'listeners', 'backends')}`,
  check: `${bottom}|${folders('core', 'module-kit', 'listeners', 'backends', 'daemon-config')}`,
  configure: `${bottom}|${folders('core', 'module-kit', 'listeners', 'backends', 'daemon-config')}`,
  daemon: `${bottom}|${folders('core', 'module-kit', 'listeners', 'backends', 'daemon-config', 'check', 'configure')}`,
  agent: bottom,
  bin: `${bottom}|${folders('daemon', 'agent')}`,
};

export default {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle ties its modules into one: nothing in it can be understood, tested or moved alone.',
      from: {},
      to: { circular: true },
    },
    ...Object.entries(mayImport).map(([folder, allowed]) => ({
      name: `layer-${folder}`,
      severity: 'error',
      comment: `src/${folder} imports only from the layers below it (see the top of .dependency-cruiser.js).`,
      from: { path: `^src/${folder}/` },
      to: { path: '^src/', pathNot: [`^src/${folder}/`, allowed].filter(Boolean).join('|') },
    })),
    {
      name: 'layer-root',
      severity: 'error',
      comment: 'Files directly in src (version.ts) belong to the bottom layer.',
      from: { path: '^src/[^/]+$' },
      to: { path: '^src/', pathNot: bottom },
    },
    {
      name: 'src-folders-known',
      severity: 'error',
      comment: 'Every folder of src has a place in the layers above; a new one needs a line in mayImport.',
      from: {
        path: '^src/',
        pathNot: Object.keys(mayImport)
          .map((f) => `^src/${f}/`)
          .concat('^src/[^/]+$')
          .join('|'),
      },
      to: {},
    },
    {
      name: 'transports-stay-apart',
      severity: 'error',
      comment: 'A transport folder uses the shared listener machinery in src/listeners, never another transport.',
      from: { path: '^src/listeners/([^/]+)/' },
      to: { path: '^src/listeners/[^/]+/', pathNot: '^src/listeners/$1/' },
    },
    {
      name: 'backends-stay-apart',
      severity: 'error',
      comment: 'A backend folder uses the shared backend files in src/backends, never another backend.',
      from: { path: '^src/backends/([^/]+)/' },
      to: { path: '^src/backends/[^/]+/', pathNot: '^src/backends/$1/' },
    },
    {
      name: 'only-registries-know-modules',
      severity: 'error',
      comment: 'The shared listener and backend files do not depend on any one module; registry.ts lists them.',
      from: { path: '^src/(listeners|backends)/[^/]+$', pathNot: '^src/(listeners|backends)/registry\\.ts$' },
      to: { path: '^src/(listeners|backends)/[^/]+/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
