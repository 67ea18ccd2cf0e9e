/** `fence_virtd --check`: checks the configuration and the host it would run on. */
export { runCheck } from './run-check.js';
export { formatCheckLine, type CheckLine, type Verdict } from '../module-kit/check-report.js';
