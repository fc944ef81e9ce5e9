/**
 * The layers of src/, checked by dependency-cruiser (`npm run lint:deps`, part of `npm test`).
 * Each rule says what a layer may not import; together they are the architecture in the README:
 *
 *   wire, http                 protocol code, no I/O, nothing of ours outside themselves
 *   errors.ts, version.ts      leaves
 *   format                     the archive: wire, errors, version
 *   tls, detect                errors only
 *   control                    wstape send/close's channel: intervene, wire, errors, io
 *   output, inspect, record, replay, har, share, redact, demo
 *                              the layers in between; never src/commands
 *   commands                   yargs definitions; imported by src/cli.ts alone
 *   viewer                     browser code: no node: module reachable, only the pure shared modules
 *
 * The rules were written from the imports as they are (2026-12), so a new edge across a layer is
 * a decision to make here, not an accident.
 */
/** Paths under src/ other than the given folders (and the leaf modules `allow` names). */
const outside = (folders, allow = []) => `^src/(?!(${[...folders.map((f) => `${f}/`), ...allow].join('|')}))`;

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No cycles anywhere: a cycle means two modules are one, or a layer points upwards.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'wire-is-self-contained',
      severity: 'error',
      comment: 'src/wire is the I/O-free RFC 6455 codec: it imports nothing of ours outside itself.',
      from: { path: '^src/wire/' },
      to: { path: outside(['wire']) },
    },
    {
      name: 'http-is-self-contained',
      severity: 'error',
      comment: 'src/http is the I/O-free HTTP/1.x parser: it imports nothing of ours outside itself.',
      from: { path: '^src/http/' },
      to: { path: outside(['http']) },
    },
    {
      name: 'format-on-wire-only',
      severity: 'error',
      comment: 'The archive format sits on the codec: wire, errors.ts and version.ts, nothing above.',
      from: { path: '^src/format/' },
      to: { path: outside(['format', 'wire'], ['errors\\.ts', 'version\\.ts']) },
    },
    {
      name: 'tls-on-errors-only',
      severity: 'error',
      comment: 'The CA and leaf certificates know nothing of archives or proxies.',
      from: { path: '^src/tls/' },
      to: { path: outside(['tls'], ['errors\\.ts']) },
    },
    {
      name: 'detect-on-wire-only',
      severity: 'error',
      comment: 'Detectors are pure detect(bytes, context): they import each other, the wire vocabulary and errors.ts only.',
      from: { path: '^src/detect/' },
      to: { path: outside(['detect', 'wire'], ['errors\\.ts']) },
    },
    {
      name: 'proxy-cores-are-sans-io',
      severity: 'error',
      comment: 'The proxy core and the WebSocket relay core decide without I/O: no sockets, TLS, files or timers, and none of the adapters that own them.',
      from: { path: '^src/record/(http-proxy-[a-z-]+|websocket-relay-core|websocket-gate|upstream-address)\\.ts$' },
      to: {
        path: [
          '^(node:)?(net|tls|fs|fs/promises|timers|timers/promises|child_process|dgram)$',
          '^src/record/(http-session|websocket-relay|tunnel-relay|tls-intercept|proxy-server|upstream|recorder|client-tls)\\.ts$',
        ],
        dependencyTypes: ['core', 'local'],
      },
    },
    {
      name: 'control-on-intervene-only',
      severity: 'error',
      comment: 'The control channel (wstape send/close) acts through the LiveConnections of src/intervene; it knows nothing of the proxy or the archive.',
      from: { path: '^src/control/' },
      to: { path: outside(['control', 'intervene', 'wire'], ['errors\\.ts', 'io\\.ts']) },
    },
    {
      name: 'viewer-runs-in-a-browser',
      severity: 'error',
      comment:
        'src/viewer is the browser viewer (wstape export --format html, wstape view): nothing it reaches may need Node, so no node: module, directly or through the shared modules it imports (hexdump, close-code names, the message tracker).',
      from: { path: '^src/viewer/' },
      to: {
        path: '^(node:)?(assert|buffer|child_process|crypto|dgram|dns|events|fs|fs/promises|http|https|module|net|os|path|process|readline|stream|timers|timers/promises|tls|url|util|worker_threads|zlib)$',
        reachable: true,
      },
    },
    {
      name: 'viewer-imports-pure-modules',
      severity: 'error',
      comment:
        'The viewer shares the pure parts of the layers below it; never the Node-side code that builds its data or serves it (src/share, src/commands), nor a layer with I/O.',
      from: { path: '^src/viewer/' },
      to: { path: '^src/(share|commands|record|replay|control|intervene|tls|demo|redact|har)/|^src/(cli|io)\\.ts$' },
    },
    {
      name: 'leaves-import-nothing',
      severity: 'error',
      comment: 'errors.ts, version.ts and io.ts are imported by every layer, so they import none.',
      from: { path: '^src/(errors|version|io)\\.ts$' },
      to: { path: '^src/' },
    },
    {
      name: 'commands-only-from-cli',
      severity: 'error',
      comment: 'src/commands holds yargs definitions; only src/cli.ts (and the commands themselves) import it.',
      from: { path: '^src/', pathNot: '^src/(cli\\.ts$|commands/)' },
      to: { path: '^src/commands/' },
    },
    {
      name: 'test-helpers-not-on-commands',
      severity: 'error',
      comment: 'Test helpers build on the layers below the commands, as src/replay, src/har and src/demo do.',
      from: { path: '^test/(helpers/|har/helpers\\.ts$)' },
      to: { path: '^src/commands/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js'] },
  },
};
