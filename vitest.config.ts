import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Lab and end-to-end tests share one 2-core machine; a few files at a time keeps timings honest.
    maxWorkers: 2,
    // An unhandled rejection or uncaught exception fails the test it happened in.
    setupFiles: ['test/support/fail-on-unhandled.ts'],
    projects: [
      // `npm run test:unit`: everything that runs as any user (some start Debian's prometheus or snmpd).
      { extends: true, test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: ['test/**/*.root.test.ts', 'test/package/**'] } },
      // Needs root: network namespaces, raw ICMP sockets, setpriv. The file name says so.
      { extends: true, test: { name: 'root', include: ['test/**/*.root.test.ts'] } },
      // `npm run test:package` only (not `npm test`): builds the Debian package and installs it into this system.
      { extends: true, test: { name: 'package', include: ['test/package/**/*.test.ts'] } },
    ],
  },
});
