import type { BlockEdit } from '../../module-kit/block-edit.js';
import type { LinePrompter } from '../../module-kit/prompter.js';
import { askUri } from '../uris.js';
import { libvirtReference } from './config.js';

export async function askLibvirt(p: LinePrompter, block: BlockEdit): Promise<void> {
  p.explain(`${libvirtReference.summary} Domains that migrate to another host are out of its reach: use cpg for those.`);
  await askUri(p, block);
}
