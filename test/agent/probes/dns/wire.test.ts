import { describe, expect, it } from 'vitest';
import { presentName, presentRecord } from '../../../../agent/probes/dns/presentation.js';
import { sectionMismatch } from '../../../../agent/probes/dns/validate.js';
import { decodeMessage, encodeName, encodeQuery, MalformedMessageError, parseRecordType, readName, RECORD_TYPES } from '../../../../agent/probes/dns/wire.js';

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');

/** A response: header (ID 0x1234, QR RD RA, given rcode), one question, then the records' raw bytes. */
function response(counts: { an: number; ns?: number; ar?: number }, question: Buffer, records: Buffer, rcode = 0, flags = 0x8180): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(0x1234, 0);
  header.writeUInt16BE(flags | rcode, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(counts.an, 6);
  header.writeUInt16BE(counts.ns ?? 0, 8);
  header.writeUInt16BE(counts.ar ?? 0, 10);
  return Buffer.concat([header, question, records]);
}

/** One record: a compression pointer to offset 12 (the question's name), type, class IN, TTL, RDATA. */
function pointerRecord(type: number, data: Buffer, ttl = 300): Buffer {
  const fixed = Buffer.alloc(12);
  fixed.writeUInt16BE(0xc00c, 0);
  fixed.writeUInt16BE(type, 2);
  fixed.writeUInt16BE(1, 4);
  fixed.writeUInt32BE(ttl, 6);
  fixed.writeUInt16BE(data.length, 10);
  return Buffer.concat([fixed, data]);
}

const QUESTION = Buffer.concat([encodeName('www.lab.test'), hex('0001 0001')]);

describe('encodeQuery (RFC 1035 §4.1)', () => {
  it('lays out header and question byte for byte', () => {
    const query = encodeQuery({ id: 0xbeef, name: 'www.Lab.test', type: RECORD_TYPES.AAAA, class: 1, recursionDesired: true });
    // ID, flags (RD only), QDCOUNT 1, AN/NS/AR 0; QNAME as length-prefixed labels, case kept; QTYPE 28, QCLASS 1.
    expect(query).toEqual(hex('beef 0100 0001 0000 0000 0000 03 777777 03 4c6162 04 74657374 00 001c 0001'));
    expect(encodeQuery({ id: 1, name: '.', type: RECORD_TYPES.NS, class: 1, recursionDesired: false })).toEqual(hex('0001 0000 0001 0000 0000 0000 00 0002 0001'));
  });

  it('refuses names no message can carry', () => {
    expect(() => encodeName(`${'a'.repeat(64)}.test`)).toThrow(RangeError);
    expect(() => encodeName(Array.from({ length: 130 }, () => 'ab').join('.'))).toThrow(RangeError);
  });

  it('knows record types by name and in generic form', () => {
    expect(parseRecordType('MX')).toBe(15);
    expect(parseRecordType('TYPE65')).toBe(65);
    expect(parseRecordType('TYPE0')).toBeUndefined();
    expect(parseRecordType('mx')).toBeUndefined();
  });
});

describe('decodeMessage', () => {
  it('reads header flags, the question and records named by compression pointers', () => {
    const bytes = response({ an: 1 }, QUESTION, pointerRecord(1, hex('c6120a0a')), 0, 0x8580 | 0x0200);
    const message = decodeMessage(bytes);
    expect(message).toMatchObject({ id: 0x1234, response: true, authoritative: true, truncated: true, recursionDesired: true, recursionAvailable: true, rcode: 0 });
    expect(message.questions).toEqual([{ name: 'www.lab.test.', type: 1, class: 1 }]);
    expect(message.answers[0]).toMatchObject({ name: 'www.lab.test.', type: 1, class: 1, ttl: 300 });
    expect(presentRecord(message.answers[0]!, message)).toBe('www.lab.test.\t300\tIN\tA\t198.18.10.10');
  });

  it('rejects truncated messages, counts past the end and pointers that point forward (no loops)', () => {
    expect(() => decodeMessage(Buffer.alloc(11))).toThrow(MalformedMessageError);
    const whole = response({ an: 1 }, QUESTION, pointerRecord(1, hex('c6120a0a')));
    expect(() => decodeMessage(whole.subarray(0, whole.length - 1))).toThrow(/record data/);
    expect(() => decodeMessage(response({ an: 2 }, QUESTION, pointerRecord(1, hex('c6120a0a'))))).toThrow(MalformedMessageError);
    expect(() => readName(hex('c000'), 0)).toThrow(/points forward/);
    // A pointer back to a label that leads to the same pointer again: ended by the 255-byte limit.
    expect(() => readName(hex('03 616263 c000'), 4)).toThrow(/longer than 255 bytes/);
    expect(readName(hex('03 616263 00 c000'), 5)).toEqual({ name: 'abc.', next: 7 });
    expect(() => readName(hex('40'), 0)).toThrow(/label type/);
  });
});

describe('presentRecord (miekg/dns RR.String() form)', () => {
  const present = (type: number, data: Buffer, more: Buffer = Buffer.alloc(0)) => {
    const message = decodeMessage(response({ an: 1 }, QUESTION, Buffer.concat([pointerRecord(type, data), more])));
    return presentRecord(message.answers[0]!, message);
  };

  it.each([
    ['2001:db8::10', '20010db8000000000000000000000010'],
    ['::1', '00000000000000000000000000000001'],
    ['2001:db8:0:1:1:1:1:1', '20010db8000000010001000100010001'],
    ['2001:0:0:1::1', '20010000000000010000000000000001'],
    ['::ffff:192.0.2.1', '00000000000000000000ffffc0000201'],
  ])('AAAA %s', (text, bytes) => expect(present(28, hex(bytes))).toBe(`www.lab.test.\t300\tIN\tAAAA\t${text}`));

  it('prints names in RDATA, also compressed, and the fields of MX, SOA, SRV, TXT, CAA', () => {
    // CNAME to "x" + pointer to the question's name.
    expect(present(5, hex('01 78 c00c'))).toBe('www.lab.test.\t300\tIN\tCNAME\tx.www.lab.test.');
    expect(present(15, Buffer.concat([hex('000a'), encodeName('mail.lab.test')]))).toBe('www.lab.test.\t300\tIN\tMX\t10 mail.lab.test.');
    const soa = Buffer.concat([encodeName('ns1.lab.test'), encodeName('hostmaster.lab.test'), hex('78a1b2c3 00000e10 00000384 00093a80 0000012c')]);
    expect(present(6, soa)).toBe('www.lab.test.\t300\tIN\tSOA\tns1.lab.test. hostmaster.lab.test. 2023862979 3600 900 604800 300');
    expect(present(33, Buffer.concat([hex('000a 0014 0035'), encodeName('dns.lab.test')]))).toBe('www.lab.test.\t300\tIN\tSRV\t10 20 53 dns.lab.test.');
    expect(present(16, Buffer.concat([Buffer.from([7]), Buffer.from('a "b"\\c'), Buffer.from([2, 0x01, 0xff])]))).toBe('www.lab.test.\t300\tIN\tTXT\t"a \\"b\\"\\\\c" "\\001\\255"');
    expect(present(257, Buffer.concat([hex('00 05'), Buffer.from('issueca.example')]))).toBe('www.lab.test.\t300\tIN\tCAA\t0 issue "ca.example"');
  });

  it('prints other types, and RDATA that does not parse as its type, in RFC 3597 generic form', () => {
    expect(present(99, hex('c0000201'))).toBe('www.lab.test.\t300\tIN\tTYPE99\t\\# 4 c0000201');
    expect(present(1, hex('c00002'))).toBe('www.lab.test.\t300\tIN\tA\t\\# 3 c00002');
    expect(present(2, hex('05 6162'))).toBe('www.lab.test.\t300\tIN\tNS\t\\# 3 056162');
  });

  it('escapes bytes that are special in zone files', () => {
    expect(presentName('a.b c.')).toBe('a.b\\ c.');
    expect(presentName('\u0001x;.')).toBe('\\001x\\;.');
    expect(presentName('.')).toBe('.');
  });
});

describe('sectionMismatch (blackbox_exporter validRRs semantics)', () => {
  const rules = (rules: Partial<Record<'fail_if_matches_regexp' | 'fail_if_not_matches_regexp' | 'fail_if_all_match_regexp' | 'fail_if_none_matches_regexp', string[]>>) => ({
    fail_if_matches_regexp: [],
    fail_if_not_matches_regexp: [],
    fail_if_all_match_regexp: [],
    fail_if_none_matches_regexp: [],
    ...rules,
  });
  const records = ['a.\t60\tIN\tA\t192.0.2.1', 'a.\t60\tIN\tA\t192.0.2.2'];

  it.each([
    ['nothing to check', rules({}), records, undefined],
    ['matches: one record matches', rules({ fail_if_matches_regexp: ['192\\.0\\.2\\.2'] }), records, 'answer: record "a.\t60\tIN\tA\t192.0.2.2" matches /192\\.0\\.2\\.2/'],
    ['matches: none matches', rules({ fail_if_matches_regexp: ['198\\.'] }), records, undefined],
    ['not matches: every record matches', rules({ fail_if_not_matches_regexp: ['192\\.0\\.2\\.'] }), records, undefined],
    ['not matches: one does not', rules({ fail_if_not_matches_regexp: ['192\\.0\\.2\\.1'] }), records, 'answer: record "a.\t60\tIN\tA\t192.0.2.2" does not match /192\\.0\\.2\\.1/'],
    ['not matches: no records', rules({ fail_if_not_matches_regexp: ['.'] }), [], 'answer: no records, and a match is required'],
    ['all match: every record matches', rules({ fail_if_all_match_regexp: ['192\\.0\\.2\\.'] }), records, undefined],
    ['all match: one does not', rules({ fail_if_all_match_regexp: ['192\\.0\\.2\\.1'] }), records, expect.stringContaining('does not match /192\\.0\\.2\\.1/ (fail_if_all_match_regexp')],
    ['all match: no records', rules({ fail_if_all_match_regexp: ['.'] }), [], undefined],
    ['none matches: one record matches one of them', rules({ fail_if_none_matches_regexp: ['198\\.', '192\\.0\\.2\\.2'] }), records, undefined],
    ['none matches: no record matches', rules({ fail_if_none_matches_regexp: ['198\\.'] }), records, 'answer: no record matches any of /198\\./'],
    ['none matches: no records', rules({ fail_if_none_matches_regexp: ['.'] }), [], 'answer: no records, and a match is required'],
  ])('%s', (_, validation, given, expected) => expect(sectionMismatch('answer', given, validation)).toEqual(expected));
});
