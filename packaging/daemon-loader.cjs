#!/usr/bin/env node
'use strict';
/* global require, __dirname, Buffer */
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS program loads modules with require */
// fence_virtd as installed: runs the daemon's bundle (fence_virtd.main.js beside this file) compiled with
// the V8 code cache the build made of it (fence_virtd.main.js.cache), so a start neither parses the
// whole bundle nor compiles again the functions every start runs. V8 checks the cache against this Node
// and the source, and compiles from source as usual where it does not fit (another Node version).
const { closeSync, fstatSync, openSync, readSync } = require('node:fs');
const { join } = require('node:path');
const { Script } = require('node:vm');

const file = join(__dirname, 'fence_virtd.main.js');

/** The file open as `fd` and its size. */
function opened(fd) {
  return { fd, size: fstatSync(fd).size };
}
/** Reads all of `f` into the start of `buffer` and closes it; answers the bytes read. */
function readInto(f, buffer) {
  let n = 0;
  try {
    while (n < f.size) {
      const got = readSync(f.fd, buffer, n, f.size - n, n);
      if (got === 0) break;
      n += got;
    }
  } finally {
    closeSync(f.fd);
  }
  return n;
}

const source = opened(openSync(file, 'r'));
let cache;
try {
  cache = opened(openSync(`${file}.cache`, 'r'));
} catch {
  // No cache: compiled from source.
}
// One buffer serves both files, the source first: the cache is then read into pages the source
// already brought in. On a virtual machine each page a start touches for the first time costs it
// about 10 us (bench/results/startup-memory.md), and a second buffer would be ~80 more of them.
const buffer = Buffer.allocUnsafeSlow(Math.max(source.size, cache?.size ?? 0));
// The build writes the bundle already wrapped in CommonJS's module function, and in ASCII only (every
// other character escaped): read as Latin-1 it is the same text, copied once into V8's heap.
const text = buffer.toString('latin1', 0, readInto(source, buffer));
const cachedData = cache && buffer.subarray(0, readInto(cache, buffer));
const script = new Script(text, { filename: file, cachedData });
const bundle = { exports: {} };
// This file's own require: the bundle lives in the same directory and requires only Node built-ins, so
// it resolves the same; making one for the bundle's path (module.createRequire) costs about 1 ms.
script.runInThisContext().call(bundle.exports, bundle.exports, require, bundle, file, __dirname);
