export * from './keyed-hash.js';
export * from './request-signature.js';
export * from './challenge-response.js';
export * from './key-file.js';
export * from './v2-exchange.js';
export * from './hmac-sha256.js';
