/**
 * XDR (RFC 4506) encoding and decoding, the subset libvirt's RPC protocol uses. Pure: bytes in, values
 * out. Every decode is bounds-checked, so a malformed payload becomes an XdrError, never a crash or a
 * huge allocation.
 */
export class XdrError extends Error {
  override name = 'XdrError';
}

const pad = (n: number): number => (4 - (n % 4)) % 4;

export class XdrWriter {
  private buf: Buffer;
  private pos = 0;

  /** Bytes past `pos` are never read (finish() and growth copy only what was written): no zero fill. */
  constructor(initialSize = 256) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  /** Makes room for n bytes and returns their offset. Call it before reading this.buf: it may replace it. */
  private reserve(n: number): number {
    const need = this.pos + n;
    if (need > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
      this.buf.copy(next, 0, 0, this.pos);
      this.buf = next;
    }
    const at = this.pos;
    this.pos = need;
    return at;
  }

  int(v: number): this {
    const at = this.reserve(4);
    this.buf.writeInt32BE(v, at);
    return this;
  }

  uint(v: number): this {
    const at = this.reserve(4);
    this.buf.writeUInt32BE(v, at);
    return this;
  }

  hyper(v: bigint): this {
    const at = this.reserve(8);
    this.buf.writeBigInt64BE(v, at);
    return this;
  }

  uhyper(v: bigint): this {
    const at = this.reserve(8);
    this.buf.writeBigUInt64BE(v, at);
    return this;
  }

  bool(v: boolean): this {
    return this.int(v ? 1 : 0);
  }

  /** Fixed-length opaque: the bytes and padding, no length word. */
  fixedOpaque(bytes: Uint8Array): this {
    const at = this.reserve(bytes.length + pad(bytes.length));
    this.buf.set(bytes, at);
    this.buf.fill(0, at + bytes.length, this.pos);
    return this;
  }

  /** Variable-length opaque: length word, bytes, padding. */
  opaque(bytes: Uint8Array): this {
    return this.uint(bytes.length).fixedOpaque(bytes);
  }

  string(s: string): this {
    return this.opaque(Buffer.from(s, 'utf8'));
  }

  /** XDR optional-data (`T *`): a boolean, then the value when present. */
  optional<T>(v: T | null, write: (w: this, v: T) => void): this {
    if (v === null) return this.bool(false);
    this.bool(true);
    write(this, v);
    return this;
  }

  /** Bytes written so far (a copy-free view). */
  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

export class XdrReader {
  private pos: number;

  constructor(
    private readonly buf: Buffer,
    offset = 0,
  ) {
    this.pos = offset;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private take(n: number, what: string): number {
    if (n > this.remaining) {
      throw new XdrError(`truncated XDR data: ${what} needs ${n} bytes, ${this.remaining} left`);
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  int(): number {
    return this.buf.readInt32BE(this.take(4, 'int'));
  }

  uint(): number {
    return this.buf.readUInt32BE(this.take(4, 'unsigned int'));
  }

  hyper(): bigint {
    return this.buf.readBigInt64BE(this.take(8, 'hyper'));
  }

  uhyper(): bigint {
    return this.buf.readBigUInt64BE(this.take(8, 'unsigned hyper'));
  }

  double(): number {
    return this.buf.readDoubleBE(this.take(8, 'double'));
  }

  bool(): boolean {
    const v = this.int();
    if (v !== 0 && v !== 1) throw new XdrError(`invalid XDR boolean ${v}`);
    return v === 1;
  }

  fixedOpaque(n: number): Buffer {
    const at = this.take(n + pad(n), 'opaque');
    return Buffer.from(this.buf.subarray(at, at + n));
  }

  opaque(max: number): Buffer {
    const n = this.uint();
    if (n > max) throw new XdrError(`XDR opaque length ${n} exceeds limit ${max}`);
    return this.fixedOpaque(n);
  }

  string(max: number): string {
    return this.opaque(max).toString('utf8');
  }

  optional<T>(read: (r: this) => T): T | null {
    return this.bool() ? read(this) : null;
  }

  /** Variable-length array `T items<max>`. */
  array<T>(max: number, read: (r: this) => T): T[] {
    const n = this.uint();
    if (n > max) throw new XdrError(`XDR array length ${n} exceeds limit ${max}`);
    // Every element takes at least 4 bytes: reject an absurd count before allocating for it.
    if (n * 4 > this.remaining) throw new XdrError(`truncated XDR array of ${n} elements`);
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(read(this));
    return out;
  }

  /** A complete message leaves nothing behind; trailing bytes mean we misread the layout. */
  end(): void {
    if (this.remaining !== 0) throw new XdrError(`${this.remaining} unexpected trailing bytes in XDR data`);
  }
}
