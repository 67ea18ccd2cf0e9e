/**
 * Every listener module this fence_virtd has, one line each. Reading the configuration, starting the
 * daemon, `--check`, `-c` and the configuration reference all go through this list, so a new transport
 * is one folder under src/listeners and one line here.
 */
import type { Listener } from './listener.js';
import type { ListenerDeps, ListenerModule } from './module.js';
import { multicast } from './multicast/index.js';
import { serial } from './serial/index.js';
import { tcp } from './tcp/index.js';
import { vsock } from './vsock/index.js';

/** In the order fence_virtd names them in messages and in the `-c` dialog. */
export const LISTENERS = [multicast, tcp, serial, vsock] as const;

export type ListenerConfig = ReturnType<(typeof LISTENERS)[number]['read']>;
export type ListenerModuleName = ListenerConfig['module'];
export const LISTENER_MODULES: readonly ListenerModuleName[] = LISTENERS.map((m) => m.name);

/** The module called `name` (exactly), if there is one. */
export function findListenerModule(name: string): ListenerModule<ListenerConfig> | undefined {
  // Each module reads and makes its own configuration type; the name ties one to the other.
  return LISTENERS.find((m) => m.name === name) as ListenerModule<ListenerConfig> | undefined;
}

/** The module that read `config`, to check, run or describe it. */
export function listenerModule(config: ListenerConfig): ListenerModule<ListenerConfig> {
  return findListenerModule(config.module) as ListenerModule<ListenerConfig>;
}

/** Loads the code of the listener `config` configures; the answer makes it. */
export async function loadListener(config: ListenerConfig): Promise<(deps: ListenerDeps) => Listener> {
  const make = await listenerModule(config).load();
  return (deps) => make(config, deps);
}

/** The Node built-ins the configured listeners load when they start (ListenerModule.startBuiltins). */
export function startBuiltinsOf(listeners: readonly ListenerConfig[]): Set<string> {
  return new Set(listeners.flatMap((l) => listenerModule(l).startBuiltins ?? []));
}

/**
 * The key file of each configured listener that needs one, by listener name; the serial listener uses
 * none (the C daemon still demanded one).
 */
export function keyFilesOf(listeners: readonly ListenerConfig[]): Map<string, string> {
  return new Map(
    listeners.flatMap((l) => {
      const file = listenerModule(l).keyFile?.(l);
      return file === undefined ? [] : [[l.name, file] as const];
    }),
  );
}
