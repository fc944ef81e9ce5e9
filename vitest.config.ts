import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // End-to-end tests spawn the built CLI and real sockets; two workers fit a 2-core machine.
    pool: 'forks',
    maxWorkers: 2,
    // CI also writes a machine-readable report, summarised by .ci/run as "N passed, N failed".
    ...(process.env.WSTAPE_TEST_REPORT ? { reporters: ['default', 'json'], outputFile: { json: process.env.WSTAPE_TEST_REPORT } } : {}),
  },
});
