/** vsockCidOf: the guest CID a running domain holds, from real libvirt output and from crafted documents. */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { XmlSyntaxError } from '../../src/libvirt/domain-xml.js';
import { LibvirtConnectionPool } from '../../src/libvirt/index.js';
import { vsockCidOf } from '../../src/listeners/vsock/cid.js';
import { silentLogger } from '../../src/util/log.js';

const NODE = fileURLToPath(new URL('../fixtures/vsock/node.xml', import.meta.url));

/** A running domain's live XML: libvirt writes the id attribute only for a running domain. */
const domain = (devices: string, extra = '', attributes = " id='3'") =>
  `<domain type='kvm'${attributes}><name>g</name>${extra}<devices>${devices}</devices></domain>`;
const fixedCid = `<vsock model='virtio'><cid auto='no' address='8'/></vsock>`;

describe('vsockCidOf', () => {
  it('reads the CID from the live XML libvirt gives (test driver through libvirtd)', async () => {
    const pool = new LibvirtConnectionPool(silentLogger);
    try {
      const client = await pool.get(`test+unix://${NODE}`);
      const cidOf = async (name: string) => vsockCidOf(await client.getXmlDesc(await client.lookupByName(name)));
      assert.equal(await cidOf('vm-a'), 5);
      assert.equal(await cidOf('vm-b'), 7, 'auto CID');
      assert.equal(await cidOf('vm-c'), undefined, 'no vsock device');
      const offXml = await client.getXmlDesc(await client.lookupByName('vm-off'));
      assert.match(offXml, /<cid auto='no' address='9'\/>/);
      assert.equal(vsockCidOf(offXml), undefined, 'shut off: its XML shows a CID it does not hold');
    } finally {
      await pool.closeAll();
    }
  });

  it("reads the address of the cid element among the device's other children", () => {
    const xml = domain(
      `<disk type='file'><address type='pci' bus='0x00' slot='0x04'/></disk>` +
        `<vsock model='virtio'><cid auto='yes' address='1234'/><alias name='vsock0'/><address type='pci' slot='0x07'/></vsock>`,
    );
    assert.equal(vsockCidOf(xml), 1234);
    assert.equal(vsockCidOf(domain(`<vsock model="virtio">\n  <cid address="4294967294" auto="no"/>\n</vsock>`)), 0xfffffffe);
  });

  it('has no CID for a device without an assigned address, or with an address no guest can have', () => {
    assert.equal(vsockCidOf(domain(`<vsock model='virtio'><cid auto='yes'/></vsock>`)), undefined);
    for (const reserved of ['0', '1', '2', '4294967295', '99999999999', '0x5', '']) {
      assert.equal(vsockCidOf(domain(`<vsock model='virtio'><cid auto='no' address='${reserved}'/></vsock>`)), undefined, reserved);
    }
  });

  it('has no CID for the XML of a domain that is not running, whatever its device says', () => {
    assert.equal(vsockCidOf(domain(fixedCid)), 8);
    for (const attributes of ['', " id=''", " id='-1'", " id='x'"]) {
      assert.equal(vsockCidOf(domain(fixedCid, '', attributes)), undefined, attributes);
    }
  });

  it('ignores vsock-like elements inside <metadata>', () => {
    const metadata = `<metadata><app:x xmlns:app='urn:x'><devices><vsock><cid address='77'/></vsock></devices></app:x></metadata>`;
    assert.equal(vsockCidOf(domain('', metadata)), undefined);
    assert.equal(vsockCidOf(domain(fixedCid, metadata)), 8);
  });

  it('rejects text that is not a domain description', () => {
    assert.throws(() => vsockCidOf('<network><devices/></network>'), XmlSyntaxError);
    assert.throws(() => vsockCidOf("<domain id='1'><devices><vsock><cid address='5'/></devices></domain>"), XmlSyntaxError);
  });
});
