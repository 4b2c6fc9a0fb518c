// Injected into the browser build (scripts/build-browser.mjs): simple-peer and readable-stream use
// Node's `Buffer` and `process` as globals, so the bundle brings its own and leaves the page's alone.
export { Buffer } from 'buffer';
export { default as process } from 'process';
