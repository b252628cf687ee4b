// @ts-check
// ESLint's flat config with typescript-eslint's type-checked recommended rules: the client is promise-heavy, and the
// type-aware rules (no-floating-promises, no-misused-promises, await-thenable) catch the unawaited call or the
// rejected promise nobody handles that the compiler lets through. React's hook rules for the React binding.
import eslint from "@eslint/js";
import reactHooks from "eslint-plugin-react-hooks";
import { defineConfig } from "eslint/config";
import tseslint from "typescript-eslint";

export default defineConfig(
  { ignores: ["dist/", "test-results/"] },
  eslint.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        // src/ is typed by tsconfig.json, test/ by test/tsconfig.json; the root config files by a default project.
        projectService: { allowDefaultProject: ["*.config.ts"] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
  },
  {
    files: ["src/react.ts", "test/react*.ts"],
    extends: [reactHooks.configs.flat.recommended],
  },
  {
    // Tests handle PocketBase's JSON answers and SignalR's untyped arguments as they come; typing every fixture
    // would add casts, not safety.
    files: ["test/**"],
    rules: {
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-return": "off",
      // Fakes implement async interfaces (start, stop, a query function) with bodies that need no await.
      "@typescript-eslint/require-await": "off",
    },
  },
  { files: ["**/*.js"], extends: [tseslint.configs.disableTypeChecked] },
);
