export * from './constants.js';
export * from './errors.js';
export * from './fence-request.js';
export * from './serial-messages.js';
export * from './magic-framer.js';
export * from './host-list.js';
export * from './ip-address.js';
export * from './uuid.js';
