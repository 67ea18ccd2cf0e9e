/**
 * A small XML reader for libvirt domain descriptions: elements and attributes only (text, comments,
 * CDATA and processing instructions are skipped). Our own instead of a dependency because the input
 * is libvirt's own well-formed output and all we need is a walk over a few elements.
 * It is strict where safety matters: no DOCTYPE (so no entity definitions or expansion), only the five
 * predefined entities and character references, unmatched tags and duplicate attributes are errors,
 * nesting depth is bounded, and it never recurses.
 */

export interface XmlElement {
  name: string;
  attributes: ReadonlyMap<string, string>;
  children: XmlElement[];
}

export class XmlSyntaxError extends Error {
  override name = 'XmlSyntaxError';
  constructor(
    reason: string,
    /** Character offset in the text where the problem was seen. */
    readonly offset: number,
  ) {
    super(`${reason} at offset ${offset}`);
  }
}

const MAX_DEPTH = 256;
const NAME = /[A-Za-z_:\u00C0-\uFFFF][-A-Za-z0-9_:.\u00B7\u00C0-\uFFFF]*/y;
const SPACE = /[ \t\r\n]*/y;
const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** Skipped constructs: opening text, terminator. */
const SKIPPED: ReadonlyArray<readonly [string, string]> = [
  ['<!--', '-->'],
  ['<?', '?>'],
  ['<![CDATA[', ']]>'],
];

export function parseXml(text: string): XmlElement {
  const reader = new Reader(text);
  return reader.document();
}

class Reader {
  private pos = 0;

  constructor(private readonly text: string) {}

  document(): XmlElement {
    const stack: XmlElement[] = [];
    let root: XmlElement | undefined;
    if (this.text.charCodeAt(0) === 0xfeff) this.pos = 1;
    while (this.pos < this.text.length) {
      const lt = this.text.indexOf('<', this.pos);
      const textEnd = lt === -1 ? this.text.length : lt;
      if (stack.length === 0 && /[^ \t\r\n]/.test(this.text.slice(this.pos, textEnd))) {
        throw this.fail('text outside the root element');
      }
      this.pos = textEnd;
      if (lt === -1) break;
      if (this.skip(stack.length > 0)) continue;
      if (this.text.startsWith('<!', lt)) throw this.fail('DOCTYPE and other declarations are not accepted');
      if (this.text.startsWith('</', lt)) {
        this.closeTag(stack);
        continue;
      }
      if (stack.length === 0 && root) throw this.fail('a second root element');
      const { element, selfClosing } = this.openTag();
      const parent = stack.at(-1);
      if (parent) parent.children.push(element);
      else root = element;
      if (!selfClosing) {
        if (stack.length >= MAX_DEPTH) throw this.fail(`elements nested deeper than ${MAX_DEPTH}`);
        stack.push(element);
      }
    }
    if (stack.length) throw this.fail(`<${stack.at(-1)?.name}> is not closed`);
    if (!root) throw this.fail('no root element');
    return root;
  }

  /** Skips a comment, processing instruction or CDATA section (CDATA only inside an element). */
  private skip(insideElement: boolean): boolean {
    for (const [open, close] of SKIPPED) {
      if (!this.text.startsWith(open, this.pos)) continue;
      if (open === '<![CDATA[' && !insideElement) throw this.fail('CDATA outside the root element');
      const end = this.text.indexOf(close, this.pos + open.length);
      if (end === -1) throw this.fail(`unterminated ${open}`);
      this.pos = end + close.length;
      return true;
    }
    return false;
  }

  private closeTag(stack: XmlElement[]): void {
    this.pos += 2;
    const name = this.name();
    this.space();
    this.expect('>');
    const open = stack.pop();
    if (open?.name !== name) throw this.fail(open ? `</${name}> closes <${open.name}>` : `</${name}> without an open element`);
  }

  private openTag(): { element: XmlElement; selfClosing: boolean } {
    this.pos += 1;
    const element: XmlElement = { name: this.name(), attributes: new Map(), children: [] };
    const attributes = element.attributes as Map<string, string>;
    for (;;) {
      const spaced = this.space();
      if (this.text.startsWith('/>', this.pos)) {
        this.pos += 2;
        return { element, selfClosing: true };
      }
      if (this.text.startsWith('>', this.pos)) {
        this.pos += 1;
        return { element, selfClosing: false };
      }
      if (!spaced) throw this.fail(`expected white space, '>' or '/>' in <${element.name}>`);
      const at = this.pos;
      const name = this.name();
      if (attributes.has(name)) throw new XmlSyntaxError(`duplicate attribute '${name}' in <${element.name}>`, at);
      this.space();
      this.expect('=');
      this.space();
      attributes.set(name, this.attributeValue());
    }
  }

  private attributeValue(): string {
    const quote = this.text[this.pos];
    if (quote !== '"' && quote !== "'") throw this.fail('expected a quoted attribute value');
    const start = this.pos + 1;
    const end = this.text.indexOf(quote, start);
    if (end === -1) throw this.fail('unterminated attribute value');
    const raw = this.text.slice(start, end);
    const lt = raw.indexOf('<');
    if (lt !== -1) throw new XmlSyntaxError("'<' in an attribute value", start + lt);
    this.pos = end + 1;
    // Literal white space is normalised to spaces before references are expanded, as XML requires.
    return raw.replace(/[\t\r\n]/g, ' ').replace(/&([^;&]*);|&/g, (ref: string, body: string | undefined, offset: number) => {
      const value = body === undefined ? undefined : expandReference(body);
      if (value === undefined) throw new XmlSyntaxError(`bad reference '${ref}' in an attribute value`, start + offset);
      return value;
    });
  }

  private name(): string {
    NAME.lastIndex = this.pos;
    const match = NAME.exec(this.text);
    if (!match) throw this.fail('expected a name');
    this.pos = NAME.lastIndex;
    return match[0];
  }

  /** Skips white space; true if there was some. */
  private space(): boolean {
    SPACE.lastIndex = this.pos;
    SPACE.exec(this.text);
    const moved = SPACE.lastIndex > this.pos;
    this.pos = SPACE.lastIndex;
    return moved;
  }

  private expect(char: string): void {
    if (this.text[this.pos] !== char) throw this.fail(`expected '${char}'`);
    this.pos += 1;
  }

  private fail(reason: string): XmlSyntaxError {
    return new XmlSyntaxError(reason, this.pos);
  }
}

/** The text of `&body;`, or undefined if it is not a predefined entity or a valid character reference. */
function expandReference(body: string): string | undefined {
  const predefined = PREDEFINED[body];
  if (predefined !== undefined) return predefined;
  const match = /^#(?:x([0-9A-Fa-f]{1,6})|([0-9]{1,7}))$/.exec(body);
  if (!match) return undefined;
  const code = match[1] !== undefined ? parseInt(match[1], 16) : Number(match[2]);
  const allowed = code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff));
  return allowed && code !== 0xfffe && code !== 0xffff ? String.fromCodePoint(code) : undefined;
}
