import { runDaemon } from '../daemon/main.js';

// No top-level await: the bundle is CommonJS (tsup.config.ts). A rejection ends the process with its stack.
void runDaemon(process.argv.slice(2), process.argv[1] ?? 'fence_virtd').then((code) => process.exit(code));
