import type { DnsRecordValidation } from '../../config/schema.js';

/**
 * Why the records of one section fail `validation`, or undefined when they pass. The rules are
 * blackbox_exporter's as its code applies them (prober/dns.go validRRs, the reference for
 * configurations moved from it), each regular expression tried on every record's presentation form:
 * - fail_if_matches_regexp: fails when any record matches any of them;
 * - fail_if_not_matches_regexp: fails when any record does not match one of them, or there are no records;
 * - fail_if_all_match_regexp: despite its name, fails unless every record matches every one of them
 *   (no records pass);
 * - fail_if_none_matches_regexp: fails unless at least one record matches one of them (no records fail).
 */
export function sectionMismatch(section: string, records: readonly string[], validation: DnsRecordValidation): string | undefined {
  const compiled = (sources: readonly string[]) => sources.map((source) => new RegExp(source));
  const matches = compiled(validation.fail_if_matches_regexp);
  const notMatches = compiled(validation.fail_if_not_matches_regexp);
  const allMatch = compiled(validation.fail_if_all_match_regexp);
  const noneMatches = compiled(validation.fail_if_none_matches_regexp);
  if (records.length === 0 && (notMatches.length > 0 || noneMatches.length > 0)) return `${section}: no records, and a match is required`;
  for (const record of records) {
    const hit = matches.find((re) => re.test(record));
    if (hit) return `${section}: record "${record}" matches ${hit}`;
    const miss = notMatches.find((re) => !re.test(record));
    if (miss) return `${section}: record "${record}" does not match ${miss}`;
    const notAll = allMatch.find((re) => !re.test(record));
    if (notAll) return `${section}: record "${record}" does not match ${notAll} (fail_if_all_match_regexp: every record must)`;
  }
  if (noneMatches.length > 0 && !records.some((record) => noneMatches.some((re) => re.test(record)))) {
    return `${section}: no record matches any of ${noneMatches.join(', ')}`;
  }
  return undefined;
}
