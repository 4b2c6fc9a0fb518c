#!/usr/bin/env node
/**
 * The `stomprtc` command (package.json `bin`): `--help` and `--version` here; anything else starts
 * the server (main.ts) with the demo on the embedded broker, configured by environment variables.
 */
import { describeSettings } from './config.js';
import { PACKAGE } from './package-info.js';

function help(): string {
  const settings = describeSettings();
  const width = Math.max(...settings.map((s) => s.env.length));
  const lines = settings.map((s) => `  ${s.env.padEnd(width)}  ${s.doc} (default: ${s.shown})`);
  return [
    `stomprtc ${PACKAGE.version}: a STOMP 1.2 broker with WebRTC room signaling, and its demo app at /`,
    '',
    'Usage: stomprtc [--help | --version]',
    '',
    'Configured by environment variables (empty counts as unset); a bad value stops it with a message naming it:',
    ...lines,
    '',
    'Endpoints: WebSocket WS_PATH, SockJS SOCKJS_PATH, health HEALTH_PATH, Prometheus METRICS_PATH.',
  ].join('\n');
}

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(help());
} else if (args.includes('--version') || args.includes('-v')) {
  console.log(PACKAGE.version);
} else if (args.length > 0) {
  console.error(`stomprtc: unknown argument "${args[0]}" (settings are environment variables; see stomprtc --help)`);
  process.exitCode = 2;
} else {
  await import('./main.js');
}
