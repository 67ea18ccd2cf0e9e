/**
 * Which unix sockets of a domain the serial listener talks to (docs/protocol.md#guest-socket-discovery):
 * the ones qemu listens on for a serial port (mode "serial") or a channel (mode "vmchannel", virtio
 * or guestfwd alike), in the configured directory.
 */
import { parseXml, XmlSyntaxError, type XmlElement } from '../../libvirt/domain-xml.js';

export type SerialMode = 'serial' | 'vmchannel';

const DEVICE: Record<SerialMode, string> = { serial: 'serial', vmchannel: 'channel' };

/**
 * Paths of `<devices><serial|channel type='unix'><source mode='bind' path='…'/>` in a live domain XML,
 * in document order without repeats. `<target>` is not looked at, as in C. Throws XmlSyntaxError for
 * text that is not a domain description.
 */
export function boundSocketPaths(domainXml: string, mode: SerialMode): string[] {
  const root = parseXml(domainXml);
  if (root.name !== 'domain') throw new XmlSyntaxError(`root element is <${root.name}>, not <domain>`, 0);
  const device = DEVICE[mode];
  const paths = new Set<string>();
  for (const devices of childrenNamed(root, 'devices')) {
    for (const dev of childrenNamed(devices, device)) {
      if (dev.attributes.get('type') !== 'unix') continue;
      for (const source of childrenNamed(dev, 'source')) {
        const path = source.attributes.get('path');
        if (path !== undefined && source.attributes.get('mode') === 'bind') paths.add(ownCopy(path));
      }
    }
  }
  return [...paths];
}

/**
 * The path as a string of its own: V8 keeps a substring as a view of the text it came from, and the
 * watch holds each path as long as the socket is open, which would keep every guest's whole domain XML.
 */
function ownCopy(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}

function childrenNamed(parent: XmlElement, name: string): XmlElement[] {
  return parent.children.filter((c) => c.name === name);
}

/**
 * The directory rule (docs/protocol.md#guest-socket-discovery): the socket's parent directory equals
 * `directory` as text, except that leading slashes of both, trailing slashes of `directory` and the
 * slashes between the parent and the file name are ignored. No other normalisation; sub-directories do
 * not match; "/" matches nothing. No directory configured: every socket counts. (C also refuses a
 * one-letter top-level directory, an artefact of its pointer loop that we do not copy.)
 */
export function inSocketDirectory(socketPath: string, directory: string | undefined): boolean {
  if (directory === undefined) return true;
  const dir = directory.replace(/\/+$/, '').replace(/^\/+/, '');
  const path = socketPath.replace(/^\/+/, '');
  const parent = /^(.*?)\/+[^/]*$/.exec(path)?.[1];
  return dir !== '' && parent !== undefined && parent !== '' && parent === dir;
}
