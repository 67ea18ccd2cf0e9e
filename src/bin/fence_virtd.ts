import { runDaemon } from '../daemon/main.js';

process.exit(await runDaemon(process.argv.slice(2), process.argv[1] ?? 'fence_virtd'));
