// Built-in prompt files are YAML in the repository but plain JS objects in the bundle: the server never parses
// YAML for them (the `yaml` package is loaded only when a user keeps templates in ATELIER_HOME/prompts/).
// One transform serves both the esbuild bundle and vitest.
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';

const YAML_FILE = /\.ya?ml$/;

/** `export default <parsed document>`; a syntax error fails the build with the file name and line. */
export function yamlToModule(text, file) {
  try {
    return `export default ${JSON.stringify(parse(text, { prettyErrors: true }))};\n`;
  } catch (error) {
    throw new Error(`${file}: ${error.message}`);
  }
}

export const yamlEsbuildPlugin = {
  name: 'yaml',
  setup(build) {
    build.onLoad({ filter: YAML_FILE }, async ({ path }) => ({
      contents: yamlToModule(await readFile(path, 'utf8'), path),
      loader: 'js',
    }));
  },
};

export const yamlVitePlugin = {
  name: 'yaml',
  enforce: 'pre',
  transform(code, id) {
    if (!YAML_FILE.test(id.split('?')[0])) return undefined;
    return { code: yamlToModule(code, id), map: null };
  },
};
