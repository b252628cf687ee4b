import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    globalSetup: ["./test/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    reporters: ["default", "junit"],
    // Named after the PocketBase version when one is chosen, so CI keeps both runs' results side by side.
    outputFile: { junit: `${process.env.RELAY_RESULTS_DIR ?? "./test-results"}/relay-client-ts${process.env.RELAY_POCKETBASE_VERSION ? `-${process.env.RELAY_POCKETBASE_VERSION}` : ""}.junit.xml` },
  },
});
