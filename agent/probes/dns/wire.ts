/**
 * The DNS message format (RFC 1035 §4) as far as a probe needs it: encode one query, decode any
 * response with its three record sections. Pure functions, no sockets. Node's dns.Resolver does
 * not give the response code of a successful answer, the authority and additional sections or
 * the truncation bit, and retries on its own: a probe has to see all of those.
 */

/** Record types by name (IANA registry), for queries and for printing records. */
export const RECORD_TYPES = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  HINFO: 13,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  NAPTR: 35,
  OPT: 41,
  DS: 43,
  RRSIG: 46,
  NSEC: 47,
  DNSKEY: 48,
  SVCB: 64,
  HTTPS: 65,
  ANY: 255,
  CAA: 257,
} as const;
export type RecordTypeName = keyof typeof RECORD_TYPES;

export const RECORD_CLASSES = { IN: 1, CH: 3, HS: 4, NONE: 254, ANY: 255 } as const;
export type RecordClassName = keyof typeof RECORD_CLASSES;

/** Response codes of the header's 4-bit RCODE field (RFC 1035, 2136). */
export const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'] as const;
export type RcodeName = (typeof RCODES)[number];

export function rcodeName(rcode: number): string {
  return RCODES[rcode] ?? `RCODE${rcode}`;
}

export function typeName(type: number): string {
  return (Object.keys(RECORD_TYPES) as RecordTypeName[]).find((name) => RECORD_TYPES[name] === type) ?? `TYPE${type}`;
}

export function className(recordClass: number): string {
  return (Object.keys(RECORD_CLASSES) as RecordClassName[]).find((name) => RECORD_CLASSES[name] === recordClass) ?? `CLASS${recordClass}`;
}

/** A type given by name ("AAAA") or in RFC 3597's generic form ("TYPE65"); undefined if neither. */
export function parseRecordType(text: string): number | undefined {
  if (Object.hasOwn(RECORD_TYPES, text)) return RECORD_TYPES[text as RecordTypeName];
  const generic = /^TYPE(\d{1,5})$/.exec(text);
  const value = generic ? Number(generic[1]) : Number.NaN;
  return value >= 1 && value <= 65535 ? value : undefined;
}

export interface Question {
  name: string;
  type: number;
  class: number;
}

export interface ResourceRecord {
  name: string;
  type: number;
  class: number;
  ttl: number;
  /** The RDATA, a view into the message (names in it may point elsewhere in the message). */
  data: Buffer;
  /** Where `data` starts in the message, for names compressed against earlier parts of it. */
  dataOffset: number;
}

export interface DnsMessage {
  id: number;
  /** QR: a response rather than a query. */
  response: boolean;
  opcode: number;
  authoritative: boolean;
  truncated: boolean;
  recursionDesired: boolean;
  recursionAvailable: boolean;
  rcode: number;
  questions: Question[];
  answers: ResourceRecord[];
  authority: ResourceRecord[];
  additional: ResourceRecord[];
  /** The whole message, for reading names inside RDATA. */
  bytes: Buffer;
}

/** Thrown by decodeMessage and readName: the bytes are not a well-formed DNS message. */
export class MalformedMessageError extends Error {
  override readonly name = 'MalformedMessageError';
}

const HEADER_BYTES = 12;
const MAX_NAME_BYTES = 255;
const MAX_LABEL_BYTES = 63;

/** An RFC 1035 query with one question; the name in presentation form ("example.com" or "example.com."). */
export function encodeQuery(query: { id: number; name: string; type: number; class: number; recursionDesired: boolean }): Buffer {
  const name = encodeName(query.name);
  const message = Buffer.alloc(HEADER_BYTES + name.length + 4);
  message.writeUInt16BE(query.id, 0);
  message.writeUInt16BE(query.recursionDesired ? 0x0100 : 0, 2);
  message.writeUInt16BE(1, 4); // QDCOUNT
  name.copy(message, HEADER_BYTES);
  message.writeUInt16BE(query.type, HEADER_BYTES + name.length);
  message.writeUInt16BE(query.class, HEADER_BYTES + name.length + 2);
  return message;
}

/** A name in presentation form as labels on the wire; "." and "" are the root. Throws RangeError for an impossible name. */
export function encodeName(name: string): Buffer {
  const labels = name.replace(/\.$/, '').split('.').filter((label, i, all) => !(all.length === 1 && label === ''));
  const parts: Buffer[] = [];
  for (const label of labels) {
    const bytes = Buffer.from(label, 'ascii');
    if (bytes.length === 0 || bytes.length > MAX_LABEL_BYTES) throw new RangeError(`label "${label}" of ${name} is not 1-63 bytes`);
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0]));
  const wire = Buffer.concat(parts);
  if (wire.length > MAX_NAME_BYTES) throw new RangeError(`${name} is longer than 255 bytes on the wire`);
  return wire;
}

/** Decodes a whole message; throws MalformedMessageError when it is truncated or inconsistent. */
export function decodeMessage(bytes: Buffer): DnsMessage {
  if (bytes.length < HEADER_BYTES) throw new MalformedMessageError(`${bytes.length} bytes, shorter than the 12-byte header`);
  const flags = bytes.readUInt16BE(2);
  const counts = [4, 6, 8, 10].map((at) => bytes.readUInt16BE(at));
  let at = HEADER_BYTES;
  const questions: Question[] = [];
  for (let i = 0; i < counts[0]!; i++) {
    const name = readName(bytes, at);
    at = name.next;
    need(bytes, at, 4, 'question');
    questions.push({ name: name.name, type: bytes.readUInt16BE(at), class: bytes.readUInt16BE(at + 2) });
    at += 4;
  }
  const sections: ResourceRecord[][] = [];
  for (const count of counts.slice(1)) {
    const records: ResourceRecord[] = [];
    for (let i = 0; i < count; i++) {
      const name = readName(bytes, at);
      at = name.next;
      need(bytes, at, 10, 'record header');
      const length = bytes.readUInt16BE(at + 8);
      need(bytes, at + 10, length, 'record data');
      records.push({
        name: name.name,
        type: bytes.readUInt16BE(at),
        class: bytes.readUInt16BE(at + 2),
        ttl: bytes.readUInt32BE(at + 4),
        data: bytes.subarray(at + 10, at + 10 + length),
        dataOffset: at + 10,
      });
      at += 10 + length;
    }
    sections.push(records);
  }
  return {
    id: bytes.readUInt16BE(0),
    response: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0x0f,
    authoritative: (flags & 0x0400) !== 0,
    truncated: (flags & 0x0200) !== 0,
    recursionDesired: (flags & 0x0100) !== 0,
    recursionAvailable: (flags & 0x0080) !== 0,
    rcode: flags & 0x000f,
    questions,
    answers: sections[0]!,
    authority: sections[1]!,
    additional: sections[2]!,
    bytes,
  };
}

function need(bytes: Buffer, at: number, length: number, what: string): void {
  if (at + length > bytes.length) throw new MalformedMessageError(`${what} at byte ${at} runs past the end of the ${bytes.length}-byte message`);
}

/**
 * Reads a possibly compressed name at `at`: its labels as raw bytes (latin1, one character per
 * byte, escaped only when printed) joined by ".", with a final "." ("." for the root), and where
 * the bytes after it start. A compression pointer must point before itself, so a loop is impossible.
 */
export function readName(bytes: Buffer, at: number): { name: string; next: number } {
  const labels: string[] = [];
  let position = at;
  let next: number | undefined;
  let wireLength = 1;
  for (;;) {
    need(bytes, position, 1, 'name');
    const length = bytes[position]!;
    if (length === 0) {
      next ??= position + 1;
      break;
    }
    if ((length & 0xc0) === 0xc0) {
      need(bytes, position, 2, 'compression pointer');
      const target = bytes.readUInt16BE(position) & 0x3fff;
      if (target >= position) throw new MalformedMessageError(`compression pointer at byte ${position} points forward to ${target}`);
      next ??= position + 2;
      position = target;
      continue;
    }
    if ((length & 0xc0) !== 0) throw new MalformedMessageError(`label type 0x${(length & 0xc0).toString(16)} at byte ${position} is not supported`);
    need(bytes, position + 1, length, 'label');
    wireLength += length + 1;
    if (wireLength > MAX_NAME_BYTES) throw new MalformedMessageError(`name at byte ${at} is longer than 255 bytes`);
    labels.push(bytes.toString('latin1', position + 1, position + 1 + length));
    position += 1 + length;
  }
  return { name: labels.length === 0 ? '.' : `${labels.join('.')}.`, next };
}
