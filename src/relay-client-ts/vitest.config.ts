import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    globalSetup: ["./test/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    reporters: ["default", "junit"],
    outputFile: { junit: process.env.RELAY_RESULTS_DIR ? `${process.env.RELAY_RESULTS_DIR}/relay-client-ts.junit.xml` : "./test-results/junit.xml" },
  },
});
