import { className, readName, typeName, RECORD_TYPES, type DnsMessage, type ResourceRecord } from './wire.js';

/**
 * A record in zone-file presentation form, as blackbox_exporter's DNS prober (miekg/dns
 * `RR.String()`) prints it for its regular expressions, so a blackbox `validate_answer_rrs`
 * expression works here unchanged: `name<TAB>ttl<TAB>class<TAB>type<TAB>rdata`, e.g.
 * "www.example.com.\t300\tIN\tA\t192.0.2.1". RDATA of A, AAAA, NS, CNAME, PTR, MX, TXT, SOA, SRV
 * and CAA is printed in its own form; any other type in RFC 3597's generic form (`\# 4 c0000201`).
 */
export function presentRecord(record: ResourceRecord, message: DnsMessage): string {
  return `${presentName(record.name)}\t${record.ttl}\t${className(record.class)}\t${typeName(record.type)}\t${presentData(record, message)}`;
}

function presentData(record: ResourceRecord, message: DnsMessage): string {
  const { data } = record;
  try {
    const nameAt = (offset: number) => readName(message.bytes, record.dataOffset + offset);
    switch (record.type) {
      case RECORD_TYPES.A:
        if (data.length === 4) return [...data].join('.');
        break;
      case RECORD_TYPES.AAAA:
        if (data.length === 16) return presentIpv6(data);
        break;
      case RECORD_TYPES.NS:
      case RECORD_TYPES.CNAME:
      case RECORD_TYPES.PTR:
        return presentName(nameAt(0).name);
      case RECORD_TYPES.MX:
        if (data.length >= 3) return `${data.readUInt16BE(0)} ${presentName(nameAt(2).name)}`;
        break;
      case RECORD_TYPES.TXT:
        return characterStrings(data).map(quoted).join(' ');
      case RECORD_TYPES.SOA: {
        const mname = nameAt(0);
        const rname = readName(message.bytes, mname.next);
        const numbers = rname.next - record.dataOffset;
        if (data.length < numbers + 20) break;
        const values = [0, 4, 8, 12, 16].map((i) => data.readUInt32BE(numbers + i));
        return [presentName(mname.name), presentName(rname.name), ...values].join(' ');
      }
      case RECORD_TYPES.SRV:
        if (data.length >= 7) return `${data.readUInt16BE(0)} ${data.readUInt16BE(2)} ${data.readUInt16BE(4)} ${presentName(nameAt(6).name)}`;
        break;
      case RECORD_TYPES.CAA: {
        const tagLength = data[1] ?? 0;
        if (data.length >= 2 + tagLength) return `${data[0]} ${data.toString('latin1', 2, 2 + tagLength)} ${quoted(data.subarray(2 + tagLength))}`;
        break;
      }
    }
  } catch {
    // RDATA that does not parse as its type: print it generically, as it came
  }
  return `\\# ${data.length}${data.length > 0 ? ` ${data.toString('hex')}` : ''}`;
}

function characterStrings(data: Buffer): Buffer[] {
  const strings: Buffer[] = [];
  for (let at = 0; at < data.length; ) {
    const length = data[at]!;
    strings.push(data.subarray(at + 1, at + 1 + length));
    at += 1 + length;
  }
  return strings;
}

/** A character-string in double quotes: `"` and `\` escaped, bytes outside printable ASCII as \DDD. */
function quoted(bytes: Buffer): string {
  let text = '"';
  for (const byte of bytes) {
    if (byte === 0x22 || byte === 0x5c) text += `\\${String.fromCharCode(byte)}`;
    else if (byte < 0x20 || byte > 0x7e) text += `\\${String(byte).padStart(3, '0')}`;
    else text += String.fromCharCode(byte);
  }
  return `${text}"`;
}

/** A name as readName gives it, with the bytes that are special in zone files escaped. */
export function presentName(name: string): string {
  if (name === '.') return name;
  return `${name
    .slice(0, -1)
    .split('.')
    .map((label) =>
      [...label]
        .map((c) => {
          const code = c.charCodeAt(0);
          if (code < 0x20 || code > 0x7e) return `\\${String(code).padStart(3, '0')}`;
          return '.;()"@\\ '.includes(c) ? `\\${c}` : c;
        })
        .join(''),
    )
    .join('.')}.`;
}

/** RFC 5952: lower case, leading zeros dropped, the longest run of two or more zero groups as "::". */
function presentIpv6(bytes: Buffer): string {
  const groups = Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2));
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) return `::ffff:${[...bytes.subarray(12)].join('.')}`;
  let best = { at: -1, length: 1 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.length) best = { at: i, length: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.at < 0) return hex.join(':');
  return `${hex.slice(0, best.at).join(':')}::${hex.slice(best.at + best.length).join(':')}`;
}
