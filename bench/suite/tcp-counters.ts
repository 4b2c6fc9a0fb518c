/**
 * How many TCP segments without data the kernel has sent, from its own counters: every segment
 * sent (`Tcp: OutSegs` of /proc/net/snmp, retransmissions left out) less the segments that carried
 * new data (`TcpExt: TCPOrigDataSent` of /proc/net/netstat). Nearly all of the rest are pure ACKs.
 *
 * Linux lets an ACK ride on the reply when the application answers within the delayed-ACK timeout;
 * a server that answers later costs an extra segment for each one it receives, sent and received
 * inside its own system calls (docs/performance.md). The counters are the network namespace's:
 * on loopback they count both ends of every connection, the load generator's as well as the server's.
 */
import { readFileSync } from 'node:fs';

/** The counter in the `<prefix>:` table of one of /proc/net's files: a line of names, then a line of values. */
function counter(file: string, prefix: string, name: string): number | undefined {
  const lines = readFileSync(file, 'utf8').split('\n');
  for (let i = 0; i + 1 < lines.length; i++) {
    if (!lines[i]!.startsWith(`${prefix}:`) || !lines[i + 1]!.startsWith(`${prefix}:`)) continue;
    const column = lines[i]!.split(' ').indexOf(name);
    if (column > 0) return Number(lines[i + 1]!.split(' ')[column]);
  }
  return undefined;
}

/** Segments without data sent so far, or undefined where the kernel does not say (not Linux). */
export function segmentsWithoutData(): number | undefined {
  try {
    const sent = counter('/proc/net/snmp', 'Tcp', 'OutSegs');
    const withData = counter('/proc/net/netstat', 'TcpExt', 'TCPOrigDataSent');
    return sent === undefined || withData === undefined ? undefined : sent - withData;
  } catch {
    return undefined;
  }
}
