// `npm run test:unit`: the fast inner loop — tests that need no built tool (k6, istioctl, chromium, tmux), start no
// mesh and open no socket. The whole suite (`npm test`) still runs everything, these included.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'test/spec/**/*.test.ts',
      'test/assertions/**/*.test.ts',
      'test/observe/**/*.test.ts',
      'test/istio/**/*.test.ts',
      'test/report/**/*.test.ts',
      'test/runner/**/*.test.ts',
      'test/load/k6-runtime.test.ts',
      'test/load/rotation.test.ts',
      'test/targets/memory-contract.test.ts',
      'test/architecture/**/*.test.ts',
    ],
    exclude: [
      'test/report/html.browser.test.ts', // chromium
      'test/report/coverage.browser.test.ts', // chromium
      'test/runner/drivers-agree.test.ts', // the local mesh
      'test/runner/probe.test.ts', // a loopback server
      'test/runner/warmup.test.ts', // the local mesh
      'test/runner/driver-checks.test.ts', // load drivers against a server
      'test/runner/signals.test.ts', // child processes
    ],
    setupFiles: ['test/support/file-state.ts'],
    isolate: false,
    testTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
