import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import type { ResponderConfig } from './config.js';
import { LruMap } from './lru.js';
import type { ResponderMetrics } from './metrics.js';
import { SourceRateLimiter } from './rate-limit.js';
import { decodeRequest, fillReply, stampTransmit } from '../lib/udp-packet.js';

interface SenderState {
  /** Requests answered in this state (the reply's reflector sequence). */
  answered: number;
  /** Sender sequence of the first request of this state. */
  start: number;
  highestSeq: number;
}

export interface RunningReflector {
  port: number;
  close(): Promise<void>;
}

/** True when sequence a comes before b, allowing for wrap-around at 2^32 (RFC 1982 serial numbers). */
function seqBefore(a: number, b: number): boolean {
  const diff = (b - a) >>> 0;
  return diff !== 0 && diff < 0x80000000;
}

/**
 * TWAMP-light style reflector (docs/udp-reflector.md): answers each valid request with a reply of
 * the same size carrying its receive/transmit timestamps and per-sender counters.
 */
export async function startUdpReflector(
  address: string,
  settings: ResponderConfig['udp'],
  metrics: ResponderMetrics,
  log: Logger,
): Promise<RunningReflector> {
  const socket: Socket = createSocket({ type: isIP(address) === 6 ? 'udp6' : 'udp4' });
  const limiter = new SourceRateLimiter(settings.rate_limit.packets_per_second, settings.rate_limit.burst, settings.max_senders);
  const senders = new LruMap<string, SenderState>(settings.max_senders, () => metrics.udpSendersEvicted.inc());

  const onMessage = (packet: Buffer, from: RemoteInfo) => {
    const receivedNs = process.hrtime.bigint();
    const decision = limiter.take(from.address);
    if (decision !== 'allow') {
      metrics.rejections.inc({ endpoint: 'udp', reason: 'rate_limited' });
      if (decision === 'deny_first') log.warn({ remote: from.address, packets_per_second: settings.rate_limit.packets_per_second }, 'UDP source over its rate limit; dropping its packets');
      return;
    }
    const request = from.port === 0 ? undefined : decodeRequest(packet, settings.max_packet_bytes);
    if (!request) {
      metrics.rejections.inc({ endpoint: 'udp', reason: 'malformed' });
      return;
    }
    const key = `${from.address}|${from.port}|${request.sessionId}`;
    let state = senders.get(key);
    if (!state) {
      state = { answered: 0, start: request.senderSeq, highestSeq: request.senderSeq };
      senders.set(key, state);
      metrics.udpSenders.set(senders.size);
    }
    state.answered += 1;
    const outOfOrder = seqBefore(request.senderSeq, state.highestSeq);
    if (seqBefore(state.highestSeq, request.senderSeq)) state.highestSeq = request.senderSeq;
    fillReply(packet, { outOfOrder, reflectorRxNs: receivedNs, reflectorSeq: state.answered, stateStart: state.start });
    stampTransmit(packet, process.hrtime.bigint());
    socket.send(packet, from.port, from.address, (err) => {
      if (err) log.debug({ err, remote: from.address }, 'UDP reply not sent');
    });
    metrics.udpReflected.inc();
  };

  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(settings.port, address, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  socket.on('error', (err) => log.error({ err }, 'UDP reflector socket error'));
  socket.on('message', onMessage);
  return {
    port: socket.address().port,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
