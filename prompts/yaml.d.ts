// Built-in prompt files are turned into modules by scripts/yaml-plugin.mjs; the loader validates their shape.
declare module '*.yaml' {
  const document: unknown;
  export default document;
}
