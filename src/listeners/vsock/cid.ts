/**
 * The guest CID a running domain holds, from its live XML:
 * `<domain id='3'><devices><vsock model='virtio'><cid auto='yes' address='5'/></vsock></devices></domain>`.
 * With auto='yes' only the live XML of a running domain holds the CID the hypervisor picked.
 */
import { parseXml, XmlSyntaxError } from '../../libvirt/domain-xml.js';

/** Lowest CID a guest can have: 0-2 are the hypervisor, the loopback and the host. */
const FIRST_GUEST_CID = 3;
/** VMADDR_CID_ANY (0xffffffff) is a bind address, never a peer. */
const LAST_GUEST_CID = 0xfffffffe;

/**
 * The CID, or undefined when the domain holds none at the moment libvirt wrote the XML: it has no
 * vsock device, libvirt has not assigned one, or the domain is not running. libvirt puts an `id` on the
 * root only in a running domain's live XML; a shut-off domain's XML still shows a fixed CID that the
 * domain does not hold, and that another guest may hold by now. Only the device under the root's
 * `<devices>` counts, never look-alikes inside `<metadata>`. Throws XmlSyntaxError for text that is
 * not a domain description.
 */
export function vsockCidOf(domainXml: string): number | undefined {
  const root = parseXml(domainXml);
  if (root.name !== 'domain') throw new XmlSyntaxError(`root element is <${root.name}>, not <domain>`, 0);
  if (!/^\d+$/.test(root.attributes.get('id') ?? '')) return undefined;
  const cids = root.children
    .filter((e) => e.name === 'devices')
    .flatMap((devices) => devices.children.filter((e) => e.name === 'vsock'))
    .flatMap((vsock) => vsock.children.filter((e) => e.name === 'cid'));
  const address = cids[0]?.attributes.get('address');
  if (address === undefined || !/^\d+$/.test(address)) return undefined;
  const cid = Number(address);
  return cid >= FIRST_GUEST_CID && cid <= LAST_GUEST_CID ? cid : undefined;
}
