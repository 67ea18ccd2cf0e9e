import { ProtocolError } from './errors.js';
import { MAGIC_BYTES } from './serial-messages.js';

/** Shared by every framer holding nothing: thousands of idle guest sockets need no buffer each. */
const EMPTY = Buffer.alloc(0);

export type FramerEvent<T> = { type: 'frame'; value: T } | { type: 'discarded'; count: number; reason: string };

/**
 * Frames a serial byte stream by the `abba` magic instead of by timing (the C daemon loses partial
 * requests and falls out of step: docs/compatibility.md, row 'serial input'). Garbage before a magic is
 * discarded and reported; a frame that fails to decode is reported and scanning resumes one byte after
 * its magic, so a magic that happened to appear inside garbage cannot swallow the real request behind
 * it. Memory stays bounded: at most one frame minus one byte is held between pushes.
 */
export class MagicFramer<T> {
  private pending: Buffer = EMPTY;

  constructor(
    private readonly frameSize: number,
    private readonly decode: (frame: Buffer) => T,
  ) {}

  push(chunk: Uint8Array): FramerEvent<T>[] {
    const events: FramerEvent<T>[] = [];
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : Buffer.from(chunk);
    let discarded = 0;
    const flushDiscarded = (reason: string): void => {
      if (discarded) events.push({ type: 'discarded', count: discarded, reason });
      discarded = 0;
    };
    for (;;) {
      const at = buf.indexOf(MAGIC_BYTES);
      if (at === -1) {
        const keep = magicPrefixSuffix(buf);
        discarded += buf.length - keep;
        buf = buf.subarray(buf.length - keep);
        break;
      }
      discarded += at;
      buf = buf.subarray(at);
      if (buf.length < this.frameSize) break;
      flushDiscarded('bytes before the magic');
      const frame = Buffer.from(buf.subarray(0, this.frameSize));
      try {
        events.push({ type: 'frame', value: this.decode(frame) });
        buf = buf.subarray(this.frameSize);
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
        events.push({ type: 'discarded', count: 1, reason: err.message });
        buf = buf.subarray(1);
      }
    }
    flushDiscarded('bytes without a magic');
    // Copy so the caller's chunk (possibly a pooled buffer) is not retained.
    this.pending = buf.length ? Buffer.from(buf) : EMPTY;
    return events;
  }

  /** Bytes held while waiting for the rest of a frame. */
  get buffered(): number {
    return this.pending.length;
  }
}

/** Length of the longest tail of buf that could be the start of a magic. */
function magicPrefixSuffix(buf: Buffer): number {
  for (let n = Math.min(MAGIC_BYTES.length - 1, buf.length); n > 0; n--) {
    let match = true;
    for (let i = 0; i < n; i++) {
      if (buf[buf.length - n + i] !== MAGIC_BYTES[i]) {
        match = false;
        break;
      }
    }
    if (match) return n;
  }
  return 0;
}
