'use strict';
/* global module, require */
// The compiled addon; `node-gyp rebuild` (this package's install script) builds it during `npm ci`.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a .node file loads only via require
module.exports = require('./build/Release/vsock.node');
