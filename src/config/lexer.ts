import { ConfigError, type SourcePosition } from './config-error.js';
import { isNameChar } from './syntax.js';

export type TokenType = 'name' | 'value' | '{' | '}' | ';' | '=' | 'end';

export interface Token {
  type: TokenType;
  /** The name, or the value without its quotes; empty for punctuation and end of file. */
  text: string;
  position: SourcePosition;
  /** The comment lines (from '#' to the end of the line) met since the previous token, when there were any. */
  comments?: string[];
}

const PUNCTUATION = new Set(['{', '}', ';', '=']);

/**
 * Splits fence_virt.conf text into tokens like the C flex scanner: whitespace is space, tab and
 * newline; '#' starts a comment only where a token could start; quoted values have no escapes and
 * may span lines. Unlike C we stop at a carriage return with a message saying so, since C only fails
 * later with an unhelpful "syntax error".
 */
export class Lexer {
  private index = 0;
  private line = 1;
  private column = 1;
  private comments: string[] = [];

  constructor(
    private readonly text: string,
    private readonly file: string,
  ) {}

  next(): Token {
    const token = this.scan();
    if (this.comments.length) {
      token.comments = this.comments;
      this.comments = [];
    }
    return token;
  }

  private scan(): Token {
    for (;;) {
      const position = this.here();
      const ch = this.text[this.index];
      if (ch === undefined) return { type: 'end', text: '', position };
      if (ch === ' ' || ch === '\t' || ch === '\n') {
        this.advance();
      } else if (ch === '\r') {
        throw new ConfigError(
          this.file,
          'carriage return (CRLF line ending): fence_virtd cannot read CRLF files; save the file with LF line endings',
          position,
        );
      } else if (ch === '#') {
        const start = this.index;
        while (this.index < this.text.length && this.text[this.index] !== '\n') this.advance();
        this.comments.push(this.text.slice(start, this.index).trimEnd());
      } else if (PUNCTUATION.has(ch)) {
        this.advance();
        return { type: ch as TokenType, text: '', position };
      } else if (ch === '"') {
        return this.quotedValue(position);
      } else {
        const start = this.index;
        while (this.index < this.text.length && isNameChar(this.text[this.index] as string)) this.advance();
        return { type: 'name', text: this.text.slice(start, this.index), position };
      }
    }
  }

  private quotedValue(position: SourcePosition): Token {
    const close = this.text.indexOf('"', this.index + 1);
    if (close < 0) throw new ConfigError(this.file, "quoted value is never closed (missing '\"')", position);
    if (close === this.index + 1) {
      throw new ConfigError(this.file, 'empty value "" is not allowed (fence_virtd cannot read it); remove the key instead', position);
    }
    const text = this.text.slice(this.index + 1, close);
    while (this.index <= close) this.advance();
    return { type: 'value', text, position };
  }

  private here(): SourcePosition {
    return { line: this.line, column: this.column };
  }

  private advance(): void {
    if (this.text[this.index] === '\n') {
      this.line += 1;
      this.column = 1;
    } else {
      this.column += 1;
    }
    this.index += 1;
  }
}
