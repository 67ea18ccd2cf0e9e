/** Shared pieces of the libvirt tests: fixture URIs and waiting for client events. */
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { LibvirtClient, LibvirtClientEvents } from '../../src/libvirt/client.js';
import type { LifecycleEvent } from '../../src/libvirt/remote-types.js';

/** Absolute path of a test-driver node description under test/fixtures/libvirt. */
export function fixturePath(name: string): string {
  return fileURLToPath(new URL(`../fixtures/libvirt/${name}`, import.meta.url));
}

/** A test:/// URI served by the shared libvirtd (scripts/setup-test-env.sh starts it). */
export function fixtureUri(name: string): string {
  return `test://${fixturePath(name)}`;
}

/** Node's test timeout applies around this; the bound only turns a hang into a readable failure. */
export async function nextEvent<K extends keyof LibvirtClientEvents>(
  client: LibvirtClient,
  name: K,
  timeoutMs = 10_000,
): Promise<LibvirtClientEvents[K]> {
  return (await once(client, name, { signal: AbortSignal.timeout(timeoutMs) })) as LibvirtClientEvents[K];
}

/** Collects lifecycle events and lets a test wait for one that matches. */
export class LifecycleRecorder {
  readonly events: LifecycleEvent[] = [];
  private waiters: { match: (e: LifecycleEvent) => boolean; resolve: (e: LifecycleEvent) => void }[] = [];

  constructor(client: LibvirtClient) {
    client.on('lifecycle', (e) => {
      this.events.push(e);
      this.waiters = this.waiters.filter((w) => {
        if (!w.match(e)) return true;
        w.resolve(e);
        return false;
      });
    });
  }

  waitFor(name: string, event: number, timeoutMs = 10_000): Promise<LifecycleEvent> {
    const match = (e: LifecycleEvent): boolean => e.name === name && e.event === event;
    const seen = this.events.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no lifecycle event ${event} for ${name} within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ match, resolve: (e) => (clearTimeout(timer), resolve(e)) });
    });
  }
}
