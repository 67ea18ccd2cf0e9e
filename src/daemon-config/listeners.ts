import { BlockReader } from '../config/block-reader.js';
import { ConfigError } from '../config/config-error.js';
import { childBlocks, findBlock } from '../config/lookup.js';
import type { ConfigAssignment, ConfigDocument } from '../config/tree.js';
import { findListenerModule, LISTENER_MODULES, listenerModule, type ListenerConfig } from '../listeners/registry.js';
import type { Logger } from '../util/log.js';

/** The listener module names as one alternative: "multicast, tcp, serial or vsock". */
export const LISTENER_CHOICES = `${LISTENER_MODULES.slice(0, -1).join(', ')} or ${LISTENER_MODULES.at(-1)}`;

/** What two listeners must not share: the same socket, or (serial) the same guest sockets. */
function overlaps(a: ListenerConfig, b: ListenerConfig): boolean {
  if (a.module !== b.module) return false;
  const module = listenerModule(a);
  return module.overlaps ? module.overlaps(a, b) : module.endpoint(a) === module.endpoint(b);
}

/**
 * The listeners `fence_virtd/listener` names. Besides C's single name it takes a list separated by
 * spaces and/or commas, all run by one process. Each entry names a block under `listeners`; the
 * block's module is its `module` key if present, else the block name. So `listener = "serial
 * vmchannel";` with `listeners { serial { mode = "serial"; } vmchannel { module = "serial"; mode =
 * "vmchannel"; } }` runs two serial listeners. An entry without a block is allowed when it is a
 * module name (all defaults), as in C.
 */
export function readListeners(document: ConfigDocument, setting: ConfigAssignment, log: Logger): ListenerConfig[] {
  const { file } = document;
  const error = (reason: string, at: ConfigAssignment = setting): ConfigError =>
    new ConfigError(file, reason, at.valuePosition ?? at.position);
  const known = LISTENER_MODULES.join(', ');
  const entries = setting.value.split(/[\s,]+/).filter((entry) => entry !== '');
  if (entries.length === 0) throw error(`fence_virtd/listener names no listener (expected ${known})`);
  const listenersBlock = findBlock(document, 'listeners');
  const seen = new Set<string>();
  const listeners: ListenerConfig[] = [];
  for (const entry of entries) {
    if (seen.has(entry.toLowerCase())) throw error(`fence_virtd/listener names '${entry}' twice`);
    seen.add(entry.toLowerCase());
    const block = listenersBlock && childBlocks(listenersBlock, entry).at(-1);
    const reader = new BlockReader(file, `listeners/${entry}`, block);
    const moduleKey = reader.assignment('module');
    const module = findListenerModule((moduleKey?.value ?? entry).toLowerCase());
    if (!module) {
      if (moduleKey) throw error(`listeners/${entry}/module: unknown listener module '${moduleKey.value}' (expected ${known})`, moduleKey);
      throw error(
        block
          ? `unknown listener module '${entry}': set listeners/${entry}/module to one of ${known}`
          : `unknown listener '${entry}': no block listeners/${entry} and not a listener module (${known})`,
      );
    }
    const listener = module.read(reader, entry);
    reader.warnUnknown(log);
    const clash = listeners.find((other) => overlaps(other, listener));
    if (clash) throw error(`listeners '${clash.name}' and '${entry}' would both use ${module.endpoint(listener)}`);
    listeners.push(listener);
  }
  return listeners;
}
