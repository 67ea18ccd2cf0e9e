/** The libvirt URIs every backend reads: `uri`, then `uri1`, `uri2`, …; how they are read, described and asked. */
import type { BlockReader } from '../config/block-reader.js';
import type { ConfigAssignment } from '../config/tree.js';
import { textProblem } from '../module-kit/answers.js';
import type { BlockEdit } from '../module-kit/block-edit.js';
import type { LinePrompter } from '../module-kit/prompter.js';
import type { KeyReference } from '../module-kit/reference.js';

/** `uri`, `uri1`, … like C, which stops at the first missing number; a later uriN would be silently unused, so it is an error. */
export function readUris(reader: BlockReader): string[] {
  const uris = [reader.required('uri', 'the libvirt URI to connect to, e.g. qemu:///system')];
  for (let n = 1; ; n++) {
    const uri = reader.text(`uri${n}`);
    if (uri === undefined) break;
    uris.push(uri);
  }
  const stray = reader.block?.items.find(
    (item) => item.kind === 'assignment' && /^uri[1-9][0-9]*$/i.test(item.key) && Number(item.key.slice(3)) > uris.length,
  ) as ConfigAssignment | undefined;
  if (stray) {
    throw reader.error(`${reader.path}/${stray.key}: uri${uris.length} is not set, so this URI would never be used`, stray);
  }
  return uris;
}

export const uriKey: KeyReference = {
  key: 'uri',
  default: 'none: required',
  description: 'The libvirt connection, e.g. qemu:///system. Further hypervisors on the same host: uri1, uri2, ... (consecutive numbers).',
};

export async function askUri(p: LinePrompter, block: BlockEdit): Promise<void> {
  p.explain(uriKey.description);
  block.set('uri', await p.text('Libvirt URI', block.get('uri') ?? 'qemu:///system', textProblem));
  p.say();
}
