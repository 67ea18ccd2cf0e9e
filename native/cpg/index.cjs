'use strict';
/* global module, require */
// The compiled addon; this package's install script builds it during `npm ci` where the corosync
// development files exist. Loading it needs libcpg and libvotequorum, never a running corosync.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a .node file loads only via require
module.exports = require('./build/Release/cpg.node');
