/**
 * The guest CID a domain's live XML gives its vsock device:
 * `<devices><vsock model='virtio'><cid auto='yes' address='5'/></vsock></devices>`. With auto='yes'
 * only the live XML of a running domain holds the CID the hypervisor picked.
 */

/** Lowest CID a guest can have: 0-2 are the hypervisor, the loopback and the host. */
const FIRST_GUEST_CID = 3;
/** VMADDR_CID_ANY (0xffffffff) is a bind address, never a peer. */
const LAST_GUEST_CID = 0xfffffffe;

/**
 * The CID, or undefined when the domain has no vsock device (or libvirt has not assigned one). The
 * `<metadata>` element may hold arbitrary XML written by whoever defined the domain, so it is cut
 * out before looking for the device.
 */
export function vsockCidOf(domainXml: string): number | undefined {
  const withoutMetadata = domainXml.replace(/<metadata\b[\s\S]*?<\/metadata>/g, '');
  const devices = /<devices>([\s\S]*)<\/devices>/.exec(withoutMetadata)?.[1];
  const vsock = devices && /<vsock\b[^>]*>([\s\S]*?)<\/vsock>/.exec(devices)?.[1];
  const address = vsock && /<cid\b[^>]*?\saddress=(['"])(\d+)\1/.exec(vsock)?.[2];
  if (!address) return undefined;
  const cid = Number(address);
  return cid >= FIRST_GUEST_CID && cid <= LAST_GUEST_CID ? cid : undefined;
}
