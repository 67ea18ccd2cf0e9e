/** Configuration texts several config tests read: the sample files under test/fixtures/config and RICH. */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export const fixturePath = (name: string): string => fileURLToPath(new URL(`../fixtures/config/${name}`, import.meta.url));

export const fixtureText = (name: string): Promise<string> => readFile(fixturePath(name), 'utf8');

/** A bit of everything the writer must keep: duplicates, valued blocks, multi-line values, unknown keys, top-level items. */
export const RICH = `top = "first";
fence_virtd {
	listener = "multicast tcp";
	backend = "libvirt";
	debug = "1";
	debug = "2";
	unknown_key = "kept";
}
listeners {
	multicast { interface = "lo"; }
	tcp { port = "26010"; }
	future_module { option = "a
multi-line value"; }
}
backends { libvirt { uri = "test:///default"; uri1 = "qemu:///system"; } }
groups {
	group = "g1" { name = "one"; ip = "127.0.0.1"; ip = "::1"; uuid = "vm-a"; }
	group { uuid = "vm-b"; }
}
top = "last";
fence_virtd { listener = "tcp"; backend = "libvirt"; }
`;
