import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    pool: 'forks',
    // Two cores: integration files each own a database and a queue prefix, so two run side by side.
    maxWorkers: 2,
    projects: [
      {
        // `npm run test:unit`: pure functions, seconds in all; the setup fails any test that opens a socket,
        // resolves a name or starts a process.
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], setupFiles: ['test/support/no-io.ts'], testTimeout: 5_000 },
      },
      {
        // The waits inside these tests are bound by progress (test/support/client.ts: an order that stops
        // changing fails them), not by the clock; these timeouts are backstops against a hang, generous so that
        // a machine shared with other test runs is slow without failing.
        test: { name: 'integration', include: ['test/integration/**/*.test.ts'], testTimeout: 300_000, hookTimeout: 180_000 },
      },
    ],
  },
});
