export * from './stomp/index.js';
export * from './errors.js';
export * from './signaling/destinations.js';
export * from './signaling/messages.js';
