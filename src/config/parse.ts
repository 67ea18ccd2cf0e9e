import { readFileSync } from 'node:fs';
import { ConfigError } from './config-error.js';
import { Lexer, type Token } from './lexer.js';
import type { ConfigBlock, ConfigDocument, ConfigItem } from './tree.js';

function describe(token: Token): string {
  switch (token.type) {
    case 'end':
      return 'end of file';
    case 'name':
      return `'${token.text}'`;
    case 'value':
      return 'a quoted value';
    case '{':
    case '}':
    case ';':
    case '=':
      return `'${token.type}'`;
  }
}

/**
 * Parses fence_virt.conf text (grammar: docs/protocol.md#configuration-file-syntax) into a tree that
 * keeps every item in file order. Accepts exactly what the C parser accepts, except carriage returns
 * outside quoted values. An explicit stack instead of recursion, so no nesting depth in a hostile file
 * can overflow the call stack.
 */
export function parseConfig(text: string, file = '<config>'): ConfigDocument {
  const lexer = new Lexer(text, file);
  const fail = (token: Token, reason: string): never => {
    throw new ConfigError(file, reason, token.position);
  };
  const document: ConfigDocument = { file, items: [] };
  /** Blocks not closed yet, innermost last, with the token that opened each. */
  const open: Array<{ block: ConfigBlock; opener: Token }> = [];
  let items: ConfigItem[] = document.items;
  let previous: Token | undefined;

  const openBlock = (name: Token, comments: string[], value?: Token): void => {
    const block: ConfigBlock = { kind: 'block', name: name.text, items: [], position: name.position };
    if (value) block.value = value.text;
    if (comments.length) block.comments = comments;
    items.push(block);
    open.push({ block, opener: name });
    items = block.items;
  };

  for (;;) {
    const token = lexer.next();
    // Comments before a '}' or the end of the file follow the last item of what closes.
    if (token.comments && (token.type === '}' || token.type === 'end')) (open.at(-1)?.block ?? document).trailingComments = token.comments;
    if (token.type === 'end') {
      const unclosed = open.at(-1)?.opener;
      if (unclosed) {
        const { line, column } = unclosed.position;
        fail(token, `expected '}' to close block '${unclosed.text}' opened at line ${line}, column ${column}, found end of file`);
      }
      if (document.items.length === 0) {
        fail(token, 'the file contains no blocks or assignments (fence_virtd cannot read an empty configuration)');
      }
      return document;
    }
    if (token.type === '}') {
      if (!open.pop()) fail(token, "unexpected '}': no block is open");
      items = open.at(-1)?.block.items ?? document.items;
    } else if (token.type === 'name') {
      parseItem(token);
    } else if (token.type === ';' && previous?.type === '}') {
      fail(token, "unexpected ';' after '}' (a block is not followed by ';')");
    } else {
      fail(token, `expected a block or key name, found ${describe(token)}`);
    }
    previous = token;
  }

  /** Comments anywhere inside an item's tokens go before the item. */
  function commentsOf(...tokens: Token[]): string[] {
    return tokens.flatMap((t) => t.comments ?? []);
  }

  function parseItem(name: Token): void {
    const after = lexer.next();
    if (after.type === '{') return openBlock(name, commentsOf(name));
    if (after.type !== '=') return fail(after, `expected '=' or '{' after '${name.text}', found ${describe(after)}`);
    const value = lexer.next();
    if (value.type === 'name') {
      return fail(value, `the value of key '${name.text}' must be in double quotes ("${value.text}")`);
    }
    if (value.type !== 'value') {
      return fail(value, `expected a quoted value after '${name.text} =', found ${describe(value)}`);
    }
    const end = lexer.next();
    if (end.type === '{') return openBlock(name, commentsOf(name, after, value), value);
    if (end.type !== ';') {
      return fail(end, `expected ';' after the value of key '${name.text}', found ${describe(end)}`);
    }
    const comments = commentsOf(name, after, value, end);
    items.push({
      kind: 'assignment',
      key: name.text,
      value: value.text,
      position: name.position,
      valuePosition: value.position,
      ...(comments.length ? { comments } : {}),
    });
  }
}

/**
 * Reads and parses a configuration file; an unreadable file is a ConfigError too. Read synchronously:
 * one small file, at start and on reload (src/auth/key-file.ts says why).
 */
export function readConfigFile(path: string): ConfigDocument {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(path, `cannot read the file: ${(err as Error).message}`, undefined, { cause: err });
  }
  return parseConfig(text, path);
}
