import dgram from 'node:dgram';
import { isIP } from 'node:net';
import snmp from 'net-snmp';
import { timerMs } from '../../lib/units.js';
import type { SnmpCredentials } from './credentials.js';
import { classifySnmpError, SnmpPollError } from './errors.js';

/** A decoded varbind value: integers and timeticks as number, Counter64 as bigint, octet strings as text. */
export type SnmpValue = number | bigint | string;

/** Varbinds per GET request: keeps responses well under a 1500-byte MTU on routers with small max message sizes. */
export const MAX_OIDS_PER_REQUEST = 40;
const WALK_MAX_REPETITIONS = 25;

export interface SessionOptions {
  /** An IP address: the poller resolves names first (agent/probes/resolver.ts). */
  address: string;
  port: number;
  timeoutSeconds: number;
  retries: number;
}

/**
 * One SNMP session to one device (net-snmp underneath), with promise methods whose errors are
 * SnmpPollError (closed reason, log-safe detail). The UDP socket is connected, so an ICMP
 * port-unreachable fails a request at once as `refused` instead of waiting for the timeout.
 */
export class SnmpSession {
  private readonly session: snmp.Session;
  private closed = false;

  constructor(
    credentials: SnmpCredentials,
    private readonly options: SessionOptions,
  ) {
    const common = {
      port: options.port,
      timeout: timerMs(options.timeoutSeconds),
      retries: options.retries,
      backoff: 1,
      transport: isIP(options.address) === 6 ? ('udp6' as const) : ('udp4' as const),
      dgramModule: connectedDgram((err) => this.session.cancelRequests(err)),
    };
    this.session =
      credentials.version === 'v2c'
        ? snmp.createSession(options.address, credentials.community, { ...common, version: snmp.Version2c })
        : snmp.createV3Session(
            options.address,
            {
              name: credentials.user,
              level: snmp.SecurityLevel.authPriv,
              authProtocol: snmp.AuthProtocols[credentials.authProtocol],
              authKey: credentials.authPassword,
              privProtocol: snmp.PrivProtocols[credentials.privProtocol],
              privKey: credentials.privPassword,
            },
            { ...common, version: snmp.Version3 },
          );
    // net-snmp emits 'error' for an undecodable datagram; unhandled, that would throw. The request then times out.
    this.session.on('error', () => undefined);
  }

  /**
   * GETs the OIDs (split into requests of MAX_OIDS_PER_REQUEST, sent one after another); undefined
   * where the device has no such instance. No request starts after `deadline` (epoch ms).
   */
  async get(oids: readonly string[], deadline = Number.POSITIVE_INFINITY): Promise<Array<SnmpValue | undefined>> {
    const values: Array<SnmpValue | undefined> = [];
    for (let i = 0; i < oids.length; i += MAX_OIDS_PER_REQUEST) {
      if (Date.now() > deadline) throw new SnmpPollError('timeout', `the device answered too slowly: ${oids.length} values not read within the poll interval`);
      const chunk = oids.slice(i, i + MAX_OIDS_PER_REQUEST);
      const varbinds = await new Promise<snmp.Varbind[]>((resolve, reject) => {
        this.session.get(chunk, (err, result) => (err ? reject(this.failure(err)) : resolve(result ?? [])));
      });
      for (const varbind of varbinds) values.push(decode(varbind));
    }
    return values;
  }

  /** Walks one table column (GETBULK); returns the value at each index (the last sub-identifier). */
  walkColumn(columnOid: string): Promise<Map<number, SnmpValue>> {
    const column = new Map<number, SnmpValue>();
    const prefix = `${columnOid}.`;
    return new Promise((resolve, reject) => {
      this.session.subtree(
        columnOid,
        WALK_MAX_REPETITIONS,
        (varbinds) => {
          for (const varbind of varbinds) {
            const value = decode(varbind);
            if (value === undefined || !varbind.oid.startsWith(prefix)) continue;
            column.set(Number(varbind.oid.slice(prefix.length)), value);
          }
        },
        (err) => (err ? reject(this.failure(err)) : resolve(column)),
      );
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.session.close();
    } catch {
      // already closed by a socket error
    }
  }

  private failure(err: unknown) {
    return classifySnmpError(err, { timeoutSeconds: this.options.timeoutSeconds, retries: this.options.retries });
  }
}

function decode(varbind: snmp.Varbind): SnmpValue | undefined {
  if (snmp.isVarbindError(varbind)) return undefined;
  const value = varbind.value;
  if (varbind.type === snmp.ObjectType.Counter64 && Buffer.isBuffer(value)) return bufferToBigInt(value);
  if (typeof value === 'number' || typeof value === 'bigint') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (typeof value === 'string') return value;
  return undefined;
}

/** net-snmp hands Counter64 values over as big-endian bytes of any length up to 9 (leading 0x00 allowed). */
export function bufferToBigInt(bytes: Buffer): bigint {
  let result = 0n;
  for (const byte of bytes) result = (result << 8n) | BigInt(byte);
  return result;
}

type SendCallback = (error: Error | null, bytes?: number) => void;

/**
 * A dgram module for net-snmp whose sockets connect() to the device on first send, so ICMP errors
 * (port or host unreachable) reach us as socket 'error' events; `onSocketError` fails the pending requests.
 */
function connectedDgram(onSocketError: (err: Error) => void) {
  return {
    createSocket(type: 'udp4' | 'udp6') {
      const socket = dgram.createSocket(type);
      socket.on('error', onSocketError);
      const sendConnected = socket.send.bind(socket) as (msg: Buffer, offset: number, length: number, cb: SendCallback) => void;
      let connection: Promise<void> | undefined;
      const send = (msg: Buffer, offset: number, length: number, port: number, address: string, cb: SendCallback) => {
        connection ??= new Promise<void>((resolve, reject) => socket.connect(port, address, (err?: Error) => (err ? reject(err) : resolve())));
        connection.then(
          () => sendConnected(msg, offset, length, cb),
          (err: Error) => cb(err),
        );
      };
      return Object.assign(socket, { send });
    },
  };
}
