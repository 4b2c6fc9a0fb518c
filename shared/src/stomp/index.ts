export * from './frame.js';
export * from './commands.js';
export * from './limits.js';
export * from './header-escape.js';
export * from './frame-decoder.js';
export * from './frame-encoder.js';
export * from './validate.js';
