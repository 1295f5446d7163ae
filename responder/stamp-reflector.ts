import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import type { ResponderConfig } from './config.js';
import { LruMap } from '../lib/lru.js';
import type { ResponderMetrics } from './metrics.js';
import { SourceRateLimiter } from '../lib/source-rate-limit.js';
import { decodeSenderPacket, reflectInPlace, stampTransmit, STAMP_PORT, UNKNOWN_TTL } from '../lib/stamp/packet.js';
import { LINKMON_ERROR_ESTIMATE, MonotonicWallClock } from '../lib/stamp/timestamp.js';

export interface RunningReflector {
  port: number;
  close(): Promise<void>;
}

/**
 * A stateful STAMP Session-Reflector (RFC 8762 §4.3, unauthenticated mode; docs/stamp.md), which
 * also answers TWAMP-Light senders. A session is the sender's address and port (our address and
 * port being fixed); its state is the count of packets received, from 0, which is the reflection's
 * sequence number and lets the sender tell loss on the way out from loss on the way back.
 *
 * Protections, each counted in linkmon_responder_rejections_total{endpoint="udp",reason}: a token
 * bucket per source address (`rate_limited`); nothing shorter than the 44-octet base packet or
 * longer than udp.max_packet_bytes, nor an error estimate with multiplier 0 (`malformed`), so the
 * reply (same length as the request) never amplifies; nothing from port 0, 862 or our own port
 * (`loop_guard`): another reflector's reflection would otherwise bounce between the two for ever.
 * Session states are bounded by udp.max_senders (least recently used evicted).
 */
export async function startStampReflector(
  address: string,
  settings: ResponderConfig['udp'],
  metrics: ResponderMetrics,
  log: Logger,
): Promise<RunningReflector> {
  const socket: Socket = createSocket({ type: isIP(address) === 6 ? 'udp6' : 'udp4' });
  const limiter = new SourceRateLimiter(settings.rate_limit.packets_per_second, settings.rate_limit.burst, settings.max_senders);
  const sessions = new LruMap<string, { received: number }>(settings.max_senders, () => metrics.udpSendersEvicted.inc());
  const clock = new MonotonicWallClock();
  let ownPort = 0;

  const onMessage = (packet: Buffer, from: RemoteInfo) => {
    const receivedMono = process.hrtime.bigint();
    const decision = limiter.take(from.address);
    if (decision !== 'allow') {
      metrics.rejections.inc({ endpoint: 'udp', reason: 'rate_limited' });
      if (decision === 'deny_first') log.warn({ remote: from.address, packets_per_second: settings.rate_limit.packets_per_second }, 'UDP source over its rate limit; dropping its packets');
      return;
    }
    if (from.port === 0 || from.port === STAMP_PORT || from.port === ownPort) {
      metrics.rejections.inc({ endpoint: 'udp', reason: 'loop_guard' });
      return;
    }
    const request = decodeSenderPacket(packet, settings.max_packet_bytes);
    if (!request) {
      metrics.rejections.inc({ endpoint: 'udp', reason: 'malformed' });
      return;
    }
    const key = `${from.address}|${from.port}`;
    let session = sessions.get(key);
    // Sequence number 0 opens a new session: a sender that reuses its port starts counting afresh.
    if (!session || request.seq === 0) {
      session = { received: 0 };
      sessions.set(key, session);
      metrics.udpSenders.set(sessions.size);
    }
    reflectInPlace(packet, { seq: session.received, receiveTimestampNs: clock.wallNs(receivedMono), errorEstimate: LINKMON_ERROR_ESTIMATE, senderTtl: UNKNOWN_TTL });
    session.received += 1;
    stampTransmit(packet, clock.wallNs(process.hrtime.bigint()));
    socket.send(packet, from.port, from.address, (err) => {
      if (err) log.debug({ err, remote: from.address }, 'UDP reply not sent');
    });
    metrics.udpReflected.inc();
    clock.refresh();
  };

  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(settings.port, address, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  ownPort = socket.address().port;
  socket.on('error', (err) => log.error({ err }, 'UDP reflector socket error'));
  socket.on('message', onMessage);
  return {
    port: ownPort,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
