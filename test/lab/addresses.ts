// The lab's address plan (see README.md): all inside 198.18.0.0/15 (RFC 2544 benchmarking).
export const MAX_SITES = 99;

/** Site i's link to the wan router: 198.18.<i>.0/24, router .1, site .2. */
export const siteSubnet = (site: number): string => `198.18.${site}.0/24`;
export const siteGateway = (site: number): string => `198.18.${site}.1`;
export const siteAddress = (site: number): string => `198.18.${site}.2`;

/** The dc link: 198.18.100.0/24, router .1, dc addresses .2, .3, ... */
export const DC_SUBNET = '198.18.100.0/24';
export const DC_GATEWAY = '198.18.100.1';
export const dcAddress = (index: number): string => `198.18.100.${1 + index}`;
/** Where the delay line sends dc_to_site packets: every site subnet (dc traffic never enters from dc). */
export const SITES_SUPERNET = '198.18.0.0/17';
