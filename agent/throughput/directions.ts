export const THROUGHPUT_DIRECTIONS = ['download', 'upload'] as const;
export type ThroughputDirection = (typeof THROUGHPUT_DIRECTIONS)[number];

/** The metrics' `direction` label: a download flows from the data centre to the site. */
export const DIRECTION_LABEL = { download: 'dc_to_site', upload: 'site_to_dc' } as const satisfies Record<ThroughputDirection, string>;
