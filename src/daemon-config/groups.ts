import { BlockReader } from '../config/block-reader.js';
import { childBlocks, findBlock } from '../config/lookup.js';
import type { ConfigDocument } from '../config/tree.js';
import type { Logger } from '../util/log.js';

/** One `groups/group` block of the static permission map (docs/protocol.md#permissions). */
export interface GroupConfig {
  /** `name`, or `unnamed-N` (N counted from 1 in file order) — only used in logs. */
  name: string;
  /** Requester identities: IP addresses as text, vsock CIDs in decimal. */
  ips: string[];
  /** VM names and/or UUIDs: fence targets, and requester identities for serial. */
  uuids: string[];
}

/** All `group` blocks of the (last) `groups` block; repeated ip/uuid keys all count, unlike other keys. */
export function readGroups(document: ConfigDocument, log: Logger): GroupConfig[] {
  const groups = findBlock(document, 'groups');
  if (!groups) return [];
  new BlockReader(document.file, 'groups', groups).warnUnknown(log, ['group']);
  return childBlocks(groups, 'group').map((block, index) => {
    const reader = new BlockReader(document.file, 'groups/group', block);
    const group = { name: reader.text('name') ?? `unnamed-${index + 1}`, ips: reader.all('ip'), uuids: reader.all('uuid') };
    reader.warnUnknown(log);
    return group;
  });
}
