/**
 * The kernel's count of TCP segments sent without data, on real loopback connections: a handshake
 * sends three (SYN, SYN-ACK, ACK), and a segment of data is not among them.
 */
import { once } from 'node:events';
import { createServer, connect, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { segmentsWithoutData } from '../../bench/suite/tcp-counters.js';

describe('segmentsWithoutData', () => {
  it('counts the segments of a TCP handshake', async () => {
    const server = createServer((socket) => socket.resume());
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const before = segmentsWithoutData();
      expect(Number.isInteger(before)).toBe(true);
      const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
      await once(client, 'connect');
      // The kernel counts the client's ACK of the SYN-ACK once it is sent, before connect() reports.
      expect(segmentsWithoutData()! - before!).toBeGreaterThanOrEqual(3);
      client.destroy();
    } finally {
      server.close();
    }
  });
});
