import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["e2e/**/*.e2e.test.ts"],
    globalSetup: ["./e2e/stack.ts"],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    reporters: ["default", "junit"],
    // Named after the PocketBase version when one is chosen, so CI keeps both runs' results side by side.
    outputFile: { junit: `${process.env.RELAY_RESULTS_DIR ?? "./e2e/artifacts"}/patients-e2e${process.env.RELAY_POCKETBASE_VERSION ? `-${process.env.RELAY_POCKETBASE_VERSION}` : ""}.junit.xml` },
  },
});
