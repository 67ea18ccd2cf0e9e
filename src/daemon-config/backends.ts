import { BACKEND_MODULES, findBackendModule, type BackendConfig } from '../backends/registry.js';
import { BlockReader } from '../config/block-reader.js';
import { ConfigError } from '../config/config-error.js';
import { findBlock } from '../config/lookup.js';
import type { ConfigAssignment, ConfigDocument } from '../config/tree.js';
import type { Logger } from '../util/log.js';

/** The backend `fence_virtd/backend` names, configured from `backends/<name>`. */
export function readBackend(document: ConfigDocument, setting: ConfigAssignment, daemon: BlockReader, log: Logger): BackendConfig {
  const module = findBackendModule(setting.value.toLowerCase());
  if (!module) {
    throw new ConfigError(
      document.file,
      `unknown backend module '${setting.value}' (expected ${BACKEND_MODULES.join(' or ')})`,
      setting.valuePosition ?? setting.position,
    );
  }
  const reader = new BlockReader(document.file, `backends/${module.name}`, findBlock(document, `backends/${module.name}`));
  const backend = module.read(reader, daemon);
  reader.warnUnknown(log);
  return backend;
}
