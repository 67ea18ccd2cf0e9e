import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Domains listed, guests scanned or requests served that leave enough garbage to be worth a collection. */
const BURST = 256;
/** Quiet time after the last of them before collecting: a run of bursts is collected once, at its end. */
const QUIET_MS = 200;

let enabled = false;
let afterCollect: () => void = () => undefined;
let collect: (() => void) | undefined;
let timer: NodeJS.Timeout | undefined;
let since = 0;

/**
 * Lets the serving daemon collect and compact its heap itself after bursts it knows of (see
 * `settleHeapAfter`). V8 starts a full collection only when the old space reaches a limit that,
 * before its first full collection, is far above a small daemon's live heap: forty host lists of
 * 1,000 domains left 18 MB of old space for 5 MB live, and V8 gave none of it back. `gc` is installed
 * only in contexts made after `--expose-gc`; the flag is set with the daemon's other run-time flags
 * (src/daemon/v8-runtime-flags.ts), after the built-ins it loads, and the context is made at the first
 * collection (an idle daemon does without its 0.2 MB). `then` runs after each collection: the daemon
 * gives back the malloc memory that the burst and the collection freed.
 */
export function enableHeapSettle(then?: () => void): void {
  setFlagsFromString('--expose-gc');
  enabled = true;
  if (then) afterCollect = then;
}

/**
 * Counts `items` (domains of a host list, guests of a scan, requests served); once `BURST` of them
 * have come since the last collection, one compacting full collection when the daemon has been quiet
 * for `QUIET_MS`, each later call postponing it. It runs on a timer, never inside a request: a request
 * arriving meanwhile waits for it (15 to 40 ms here, with a few MB live).
 */
export function settleHeapAfter(items: number): void {
  if (!enabled || (since += items) < BURST) return;
  if (timer) timer.refresh();
  else timer = setTimeout(settle, QUIET_MS).unref();
}

function settle(): void {
  timer = undefined;
  since = 0;
  collect ??= runInNewContext('gc') as () => void;
  // A plain full collection frees the garbage but leaves the old space's pages partly used and mapped;
  // compacting empties them so V8 unmaps them.
  setFlagsFromString('--compact-on-every-full-gc');
  try {
    collect();
  } finally {
    setFlagsFromString('--no-compact-on-every-full-gc');
  }
  afterCollect();
}
