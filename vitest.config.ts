import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // End-to-end tests spawn the built CLI and real sockets; two workers fit a 2-core machine.
    pool: 'forks',
    maxWorkers: 2,
    // The --script files test/intervene/scripts.test.ts writes are imported by Node itself, as in
    // production: through Vite, a syntax error would be Vite's import-analysis error instead.
    server: { deps: { external: [/[\\/]wstape-scripts-[^\\/]+[\\/]/] } },
    // CI also writes a machine-readable report, summarised by .ci/run as "N passed, N failed".
    ...(process.env.WSTAPE_TEST_REPORT ? { reporters: ['default', 'json'], outputFile: { json: process.env.WSTAPE_TEST_REPORT } } : {}),
  },
});
