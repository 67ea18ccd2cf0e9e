#!/usr/bin/env node
'use strict';
/* global require, __dirname */
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS program loads modules with require */
// fence_virtd as installed: runs the daemon's bundle (fence_virtd.main.js beside this file) compiled with
// the V8 code cache the build made of it (fence_virtd.main.js.cache), so a start neither parses the
// whole bundle nor compiles again the functions every start runs. V8 checks the cache against this Node
// and the source, and compiles from source as usual where it does not fit (another Node version).
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const { Script } = require('node:vm');

const file = join(__dirname, 'fence_virtd.main.js');
let cachedData;
try {
  cachedData = readFileSync(`${file}.cache`);
} catch {
  // No cache: compiled from source.
}
// The build writes the bundle already wrapped in CommonJS's module function, and in ASCII only (every
// other character escaped): read as Latin-1 it is the same text, in one read into a buffer of the file's
// size (a UTF-8 read grows its buffer 8 KB at a time).
const script = new Script(readFileSync(file, 'latin1'), { filename: file, cachedData });
const bundle = { exports: {} };
// This file's own require: the bundle lives in the same directory and requires only Node built-ins, so
// it resolves the same; making one for the bundle's path (module.createRequire) costs about 1 ms.
script.runInThisContext().call(bundle.exports, bundle.exports, require, bundle, file, __dirname);
