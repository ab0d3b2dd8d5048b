import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'generated/', 'coverage/', '.stryker-tmp/', 'reports/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['scripts/**/*.mjs'],
    languageOptions: {
      globals: { setTimeout: 'readonly', clearTimeout: 'readonly', fetch: 'readonly', Buffer: 'readonly' },
    },
  },
  {
    // stdout belongs to JSON-RPC: the server and everything it loads log to stderr only.
    files: ['src/**/*.ts', 'tools/**/*.ts', 'prompts/**/*.ts'],
    // The transport is the one writer of JSON-RPC to stdout.
    ignores: ['src/cli.ts', 'src/cli/**', 'src/mcp/stdio-transport.ts'],
    rules: {
      'no-console': ['error', { allow: ['error', 'warn'] }],
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'stdout', message: 'stdout is JSON-RPC only.' },
      ],
    },
  },
  {
    files: ['src/**/*.ts', 'tools/**/*.ts', 'prompts/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "ImportDeclaration[source.value='zod'] > ImportSpecifier[imported.name='z']",
          message: "Use `import * as z from 'zod'`: the named z keeps all of zod in the bundle.",
        },
      ],
      // Born lazy: these load with the first tool call that needs them (README, Development), never at start-up.
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: ['undici', 'sharp', '@napi-rs/keyring', 'ajv'].map((name) => ({
            name,
            allowTypeImports: true,
            message:
              name === 'undici'
                ? 'Use loadUndici() from src/http/undici.ts (or import type).'
                : `Use await import('${name}') where it is needed (or import type).`,
          })),
        },
      ],
    },
  },
);
