import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';

/** The input ended while a question still had no acceptable answer (its default is not valid either). */
export class DialogAborted extends Error {
  override name = 'DialogAborted';
}

/** What a validator says about an answer: undefined accepts it, a string explains the refusal. */
export type Validate = (answer: string) => string | undefined | Promise<string | undefined>;

/**
 * Questions on a text stream with the C dialog's input rules (docs/protocol.md#configuration-dialog):
 * `Label [default]: `, an empty line or end of input takes the default; yes/no prompts decide on a
 * leading y/Y or n/N and take the default otherwise. Lines are read from the input whether or not it is
 * a terminal, so answers can be piped. When the input is not a terminal the answer is echoed, which
 * keeps a piped transcript readable.
 */
export class LinePrompter {
  private readonly lines: string[] = [];
  private ended = false;
  private wake: (() => void) | undefined;
  private readonly echo: boolean;
  private readonly reader;

  constructor(
    input: Readable,
    private readonly output: Writable,
  ) {
    this.echo = !(input as { isTTY?: boolean }).isTTY;
    this.reader = createInterface({ input, terminal: false, crlfDelay: Infinity });
    this.reader.on('line', (line) => {
      this.lines.push(line);
      this.wake?.();
    });
    this.reader.on('close', () => {
      this.ended = true;
      this.wake?.();
    });
  }

  say(text = ''): void {
    this.output.write(`${text}\n`);
  }

  /** A paragraph of explanation, wrapped for an 80-column terminal, then an empty line. */
  explain(text: string): void {
    const lines: string[] = [];
    let line = '';
    for (const word of text.split(/\s+/).filter(Boolean)) {
      if (line && line.length + 1 + word.length > 78) {
        lines.push(line);
        line = word;
      } else {
        line = line ? `${line} ${word}` : word;
      }
    }
    if (line) lines.push(line);
    this.say(`${lines.join('\n')}\n`);
  }

  write(text: string): void {
    this.output.write(text);
  }

  /** The next input line, or undefined at end of input. */
  private async nextLine(): Promise<string | undefined> {
    while (this.lines.length === 0 && !this.ended) {
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
    return this.lines.shift();
  }

  private async answer(prompt: string): Promise<string | undefined> {
    this.output.write(prompt);
    const line = await this.nextLine();
    if (this.echo) this.output.write(`${line ?? ''}\n`);
    return line;
  }

  /**
   * Asks until the answer (or, for an empty answer, the default) passes `validate`. At end of input the
   * default is the answer; if that is refused too the dialog cannot go on.
   */
  async text(label: string, fallback: string, validate?: Validate): Promise<string> {
    for (;;) {
      const line = await this.answer(`${label} [${fallback}]: `);
      const value = line === undefined || line.trim() === '' ? fallback : line.trim();
      const problem = validate && (await validate(value));
      if (problem === undefined) return value;
      this.say(problem);
      if (line === undefined) throw new DialogAborted(`the input ended without an acceptable answer to '${label}'`);
    }
  }

  async yesNo(question: string, fallback: boolean): Promise<boolean> {
    const line = await this.answer(`${question} [${fallback ? 'Y/n' : 'y/N'}]? `);
    const first = line?.trim()[0]?.toLowerCase();
    return first === 'y' ? true : first === 'n' ? false : fallback;
  }

  close(): void {
    this.reader.close();
  }
}
