import type {
  JsonSchemaType,
  JsonSchemaValidator,
  jsonSchemaValidator,
} from '@modelcontextprotocol/sdk/validation/types.js';

/**
 * The SDK validates elicitation answers with ajv (plus ajv-formats: ~40 ms of evaluation at start-up), and nothing
 * else. This one loads ajv with the first elicitation instead: src/mcp/server.ts awaits `load()` before each one, and
 * the bundle (scripts/build-options.mjs) swaps the SDK's eager default for a stub. getValidator is synchronous in
 * the SDK's interface, so a use before load() is a bug, reported loudly rather than skipping validation.
 */
export class LazyJsonSchemaValidator implements jsonSchemaValidator {
  private inner: jsonSchemaValidator | undefined;
  private loading: Promise<void> | undefined;

  load(): Promise<void> {
    return (this.loading ??= import('@modelcontextprotocol/sdk/validation/ajv').then(
      ({ AjvJsonSchemaValidator }) => {
        this.inner = new AjvJsonSchemaValidator();
      },
    ));
  }

  getValidator<T>(schema: JsonSchemaType): JsonSchemaValidator<T> {
    if (!this.inner) throw new Error('the JSON-schema validator was used before load() finished');
    return this.inner.getValidator<T>(schema);
  }
}
