import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["e2e/**/*.e2e.test.ts"],
    globalSetup: ["./e2e/stack.ts"],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    reporters: ["default", "junit"],
    outputFile: { junit: process.env.RELAY_RESULTS_DIR ? `${process.env.RELAY_RESULTS_DIR}/patients-e2e.junit.xml` : "./e2e/artifacts/junit.xml" },
  },
});
