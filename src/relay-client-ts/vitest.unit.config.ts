import { defineConfig } from "vitest/config";

// The tests that need no server (fake hub, pure logic, source comparisons): no global setup, so they run in seconds
// without building Relay or starting PocketBase. `npm test` still runs everything, these included.
export default defineConfig({
  test: {
    include: ["test/*.fake.test.ts", "test/*.unit.test.ts", "test/strategy.test.ts"],
    testTimeout: 10_000,
  },
});
