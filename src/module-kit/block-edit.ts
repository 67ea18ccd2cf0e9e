import { getValue, removePath, setValue, type ConfigDocument } from '../config/index.js';

/** The keys of one block of a document being edited, addressed by key name alone. */
export class BlockEdit {
  constructor(
    readonly document: ConfigDocument,
    /** e.g. `listeners/tcp` */
    readonly path: string,
  ) {}

  get(key: string): string | undefined {
    return getValue(this.document, `${this.path}/@${key}`);
  }

  set(key: string, value: string): void {
    setValue(this.document, `${this.path}/@${key}`, value);
  }

  remove(key: string): void {
    removePath(this.document, `${this.path}/@${key}`);
  }

  /** The C dialog's convention: the answer `none` removes the key (its default applies). */
  setOrRemove(key: string, answer: string): void {
    if (answer === 'none') this.remove(key);
    else this.set(key, answer);
  }
}
