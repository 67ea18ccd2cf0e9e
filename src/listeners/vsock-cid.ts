/**
 * The guest CID a domain's live XML gives its vsock device:
 * `<devices><vsock model='virtio'><cid auto='yes' address='5'/></vsock></devices>`. With auto='yes'
 * only the live XML of a running domain holds the CID the hypervisor picked.
 */
import { parseXml, XmlSyntaxError } from './domain-sockets-xml.js';

/** Lowest CID a guest can have: 0-2 are the hypervisor, the loopback and the host. */
const FIRST_GUEST_CID = 3;
/** VMADDR_CID_ANY (0xffffffff) is a bind address, never a peer. */
const LAST_GUEST_CID = 0xfffffffe;

/**
 * The CID, or undefined when the domain has no vsock device (or libvirt has not assigned one). Only
 * the device under the root's `<devices>` counts, never look-alikes inside `<metadata>`. Throws
 * XmlSyntaxError for text that is not a domain description.
 */
export function vsockCidOf(domainXml: string): number | undefined {
  const root = parseXml(domainXml);
  if (root.name !== 'domain') throw new XmlSyntaxError(`root element is <${root.name}>, not <domain>`, 0);
  const cids = root.children
    .filter((e) => e.name === 'devices')
    .flatMap((devices) => devices.children.filter((e) => e.name === 'vsock'))
    .flatMap((vsock) => vsock.children.filter((e) => e.name === 'cid'));
  const address = cids[0]?.attributes.get('address');
  if (address === undefined || !/^\d+$/.test(address)) return undefined;
  const cid = Number(address);
  return cid >= FIRST_GUEST_CID && cid <= LAST_GUEST_CID ? cid : undefined;
}
