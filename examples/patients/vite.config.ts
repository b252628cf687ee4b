import { defineConfig } from "vite";
import solid from "vite-plugin-solid";

export default defineConfig({
  plugins: [solid()],
  // @relay/client is linked from the repository; its own node_modules must not bring a second solid-js or query-core.
  resolve: { dedupe: ["solid-js", "@tanstack/solid-query", "@tanstack/query-core"] },
  build: { target: "es2022" },
});
