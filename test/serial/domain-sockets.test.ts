/**
 * Which sockets of a domain the serial listener uses: the XML reader on libvirt's real output (from the
 * test driver through the running libvirtd) and on hand-written edge cases, and the directory rule
 * (docs/protocol.md#guest-socket-discovery).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { boundSocketPaths, inSocketDirectory } from '../../src/listeners/serial/domain-sockets.js';
import { parseXml, XmlSyntaxError } from '../../src/libvirt/domain-xml.js';
import { skipBecause } from '../support/requirement.js';
import { nodeXml, type TestDomain } from './node-xml.js';

const run = promisify(execFile);

describe('boundSocketPaths on libvirt output', () => {
  it('finds bound serial sockets in serial mode and bound channels (virtio and guestfwd) in vmchannel mode', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'fvd-sockets-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const domain: TestDomain = {
      name: 'vm-x',
      uuid: 'a0000000-0000-4000-8000-000000000001',
      serial: [`${dir}/one&two'"<x>`, `${dir}/second`],
      channels: [`${dir}/virtio`],
      guestfwd: [`${dir}/guestfwd`],
      connectSerial: [`${dir}/connect-mode`],
    };
    const node = join(dir, 'node.xml');
    await writeFile(node, nodeXml([domain]));
    let xml: string;
    try {
      ({ stdout: xml } = await run('virsh', ['-c', `test+unix://${node}`, 'dumpxml', 'vm-x']));
    } catch (err) {
      t.skip(skipBecause(`libvirtd is not reachable (run scripts/setup-test-env.sh): ${(err as Error).message}`));
      return;
    }
    // libvirt adds a <console> that repeats the first serial port: it is not a <serial>, so not counted.
    assert.match(xml, /<console type='unix'>/);
    assert.deepEqual(boundSocketPaths(xml, 'serial'), [`${dir}/one&two'"<x>`, `${dir}/second`]);
    assert.deepEqual(boundSocketPaths(xml, 'vmchannel'), [`${dir}/virtio`, `${dir}/guestfwd`]);
  });
});

describe('boundSocketPaths rules', () => {
  const wrap = (devices: string, extra = '') => `<?xml version="1.0"?>\n<domain type="kvm">${extra}<devices>${devices}</devices></domain>`;

  it('needs type unix exactly, a source with mode and path, and mode bind exactly', () => {
    const xml = wrap(
      `<serial type="unix"><source mode="bind" path="/d/a"/></serial>` +
        `<serial type="UNIX"><source mode="bind" path="/d/b"/></serial>` +
        `<serial type="pty"><source mode="bind" path="/d/c"/></serial>` +
        `<serial type="unix"><source path="/d/d"/></serial>` +
        `<serial type="unix"><source mode="Bind" path="/d/e"/></serial>` +
        `<serial type="unix"><source mode="bind"/><source mode="bind" path="/d/f"/></serial>` +
        `<serial><source mode="bind" path="/d/g"/></serial>`,
    );
    assert.deepEqual(boundSocketPaths(xml, 'serial'), ['/d/a', '/d/f']);
  });

  it('looks only at direct children of every <devices> under the root, and repeats a path once', () => {
    const xml =
      `<domain><devices><serial type='unix'><source mode='bind' path='/d/1'/></serial></devices>` +
      `<metadata><devices><serial type='unix'><source mode='bind' path='/d/meta'/></serial></devices></metadata>` +
      `<devices><channel type='unix'><source mode='bind' path='/d/2'/></channel>` +
      `<hub><serial type='unix'><source mode='bind' path='/d/nested'/></serial></hub>` +
      `<serial type='unix'><source mode='bind' path='/d/1'/></serial></devices></domain>`;
    assert.deepEqual(boundSocketPaths(xml, 'serial'), ['/d/1']);
    assert.deepEqual(boundSocketPaths(xml, 'vmchannel'), ['/d/2']);
  });

  it('decodes entities and character references and normalises white space in attribute values', () => {
    const xml = wrap(`<serial type='unix'><source mode = 'bind'\n path="/d/&amp;&lt;&gt;&quot;&apos;&#65;&#x42;&#10;x\ty"/></serial>`);
    assert.deepEqual(boundSocketPaths(xml, 'serial'), ['/d/&<>"\'AB\nx y']);
  });

  it('skips comments, processing instructions, CDATA and text', () => {
    const xml = wrap(
      `<!-- <serial type='unix'><source mode='bind' path='/d/comment'/></serial> -->` +
        `<![CDATA[<serial type='unix'><source mode='bind' path='/d/cdata'/></serial>]]>text &amp; more` +
        `<?pi <serial?><serial type='unix'><source mode='bind' path='/d/real'/></serial>`,
    );
    assert.deepEqual(boundSocketPaths(xml, 'serial'), ['/d/real']);
  });

  it('rejects what is not a well-formed domain description with a positioned XmlSyntaxError', () => {
    const bad: Array<[string, RegExp]> = [
      ['<node><devices/></node>', /root element is <node>/],
      ['<domain><devices></domain>', /<\/domain> closes <devices>/],
      ['<domain>', /<domain> is not closed/],
      ['<domain a="1" a="2"/>', /duplicate attribute 'a'/],
      ['<domain a="&foo;"/>', /bad reference '&foo;'/],
      ['<domain a="a & b"/>', /bad reference '&'/],
      ['<domain a="&#0;"/>', /bad reference/],
      ['<domain a="x<y"/>', /'<' in an attribute value/],
      ['<domain a=1/>', /quoted attribute value/],
      ['<domain a="1"b="2"/>', /expected white space/],
      ['<!DOCTYPE d [<!ENTITY e "x">]><domain/>', /DOCTYPE/],
      ['<domain/><domain/>', /second root element/],
      ['junk<domain/>', /text outside the root element/],
      ['<domain><!-- open', /unterminated <!--/],
      ['', /no root element/],
      [`${'<a>'.repeat(300)}${'</a>'.repeat(300)}`, /nested deeper/],
    ];
    for (const [xml, message] of bad) {
      assert.throws(
        () => boundSocketPaths(xml, 'serial'),
        (err: unknown) => err instanceof XmlSyntaxError && message.test(err.message) && Number.isInteger(err.offset),
        xml,
      );
    }
  });

  it('reads a large document without recursion', () => {
    const devices = Array.from({ length: 2000 }, (_, i) => `<serial type='unix'><source mode='bind' path='/d/${i}'/></serial>`).join('');
    assert.equal(boundSocketPaths(wrap(devices), 'serial').length, 2000);
    assert.equal(parseXml(`<a>${'<b>'.repeat(200)}${'</b>'.repeat(200)}</a>`).children.length, 1);
  });
});

describe('inSocketDirectory: the directory rule', () => {
  const cases: Array<[string, string | undefined, boolean]> = [
    ['/var/run/fence/vm1', '/var/run/fence', true],
    ['/var/run/fence/vm1', '/var/run/fence/', true],
    ['/var/run/fence/vm1', '/var/run/fence//', true],
    ['/var/run/fence/vm1', 'var/run/fence', true],
    ['var/run/fence/vm1', '/var/run/fence', true],
    ['//var/run/fence/vm1', '/var/run/fence', true],
    ['/var/run/fence//vm1', '/var/run/fence', true],
    ['/var/run/fence/sub/vm1', '/var/run/fence', false],
    ['/var/run/vm1', '/var/run/fence', false],
    ['/var/run/Fence/vm1', '/var/run/fence', false],
    ['/var//run/fence/vm1', '/var/run/fence', false],
    ['/var/run/./fence/vm1', '/var/run/fence', false],
    ['/vm1', '/', false],
    ['/var/vm1', '/', false],
    ['vm1', '/var', false],
    ['/var/run/fence', '/var/run/fence', false],
    ['/f/vm1', '/f', true],
    ['/anything/at/all', undefined, true],
  ];
  for (const [path, dir, expected] of cases) {
    it(`${path} in ${dir ?? '(no path)'}: ${expected}`, () => assert.equal(inSocketDirectory(path, dir), expected));
  }
});
