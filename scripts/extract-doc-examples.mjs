// Extracts the request and response examples of the providers' documents into test/fixtures/provider-docs.json,
// which the contract tests (test/providers/contract.test.ts) replay against the clients and the emulators. The
// documents carry no licence, so only the examples (and Pixelmuse's schemas) are kept, each with its source.
//
//   node scripts/extract-doc-examples.mjs [--reference ../shared/reference] [--check]
//
// --check exits 1 when the fixture differs from what the documents give now (a documents update to look at), and
// only notes it when the documents are absent.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    reference: { type: 'string', default: join('..', 'shared', 'reference') },
    check: { type: 'boolean', default: false },
  },
});
const FIXTURE = join('test', 'fixtures', 'provider-docs.json');
const ref = values.reference;
const read = (path) => readFileSync(join(ref, path), 'utf8');
// A clone without the documents beside it (a contributor's, or a CI machine's) still runs the contract tests on the
// vendored fixture; there is just nothing to compare it with.
if (values.check && !existsSync(ref)) {
  console.error(`${ref} is absent: ${FIXTURE} is used as vendored, not compared with the documents.`);
  process.exit(0);
}

/** The ModelsLab pages whose examples the clients must match (training and teams belong to other tools). */
const PAGES = [
  'modelslab-docs/overview.mdx',
  'modelslab-docs/authentication.mdx',
  'modelslab-docs/profile-and-api-keys.mdx',
  'modelslab-docs/usage-and-models.mdx',
  'modelslab-docs/billing-and-wallet.mdx',
  'modelslab-docs/subscriptions.mdx',
  'modelslab-docs/headless-flow.mdx',
  'modelslab-docs/error-codes.mdx',
  'modelslab-docs/generation/general-api_base64-to-url.mdx',
  'modelslab-docs/generation/guides_model-selection.mdx',
  'modelslab-docs/generation/image-editing_base64-to-url.mdx',
  'modelslab-docs/generation/image-generation_community-models_dreambooth-fetch-queue-image.mdx',
  'modelslab-docs/generation/image-generation_community-models_dreambooth-image-to-image.mdx',
  'modelslab-docs/generation/image-generation_community-models_dreambooth-text-to-image.mdx',
  'modelslab-docs/generation/image-generation_flux_flux-text-to-image.mdx',
];

const pathOf = (url) => new URL(url.replace(/<[^>]*>/g, 'x')).pathname;

/**
 * Every example of a page, in order: a curl command is a request (its --data the body); a JSON block is a request
 * body when it carries the generation `key` (the generation pages show the body apart from the curl line), else
 * an answer shown after the request named in `after`. JSON that does not parse (with `...` or comments) is prose.
 */
function examplesOf(page) {
  const out = [];
  let last;
  for (const [, lang, text] of read(page).matchAll(/```(\w*)[^\n]*\n([\s\S]*?)```/g)) {
    if (lang === 'json') {
      let body;
      try {
        body = JSON.parse(text);
      } catch {
        continue;
      }
      if (body && typeof body === 'object' && 'key' in body && last && !('body' in last)) last.body = body;
      else
        out.push({ page, kind: 'response', ...(last ? { after: `${last.method} ${last.path}` } : {}), body });
      continue;
    }
    for (const command of text.split(/\n(?=\s*(?:#|curl\b))/)) {
      const url =
        /(?:curl[^'"\n]*|--request \w+\s+)['"](https:\/\/modelslab\.com[^'"]+)['"]/.exec(command)?.[1] ??
        /^[A-Z]+ (https:\/\/modelslab\.com\S+)/m.exec(command)?.[1];
      if (!url) continue;
      const method =
        /(?:--request|-X)\s+(\w+)|^([A-Z]+) https/m.exec(command)?.slice(1).find(Boolean) ?? 'GET';
      const data = /(?:--data|-d)\s+'([\s\S]*?)'/.exec(command)?.[1];
      const request = { page, kind: 'request', method, path: pathOf(url) };
      const query = Object.fromEntries(new URL(url.replace(/<[^>]*>/g, 'x')).searchParams);
      if (Object.keys(query).length) request.query = query;
      if (data !== undefined) request.body = JSON.parse(data);
      out.push(request);
      last = request;
    }
  }
  return out;
}

/** The request fields each ModelsLab OpenAPI names per endpoint (allOf and $ref followed), merged across files. */
function modelslabFields() {
  const fields = {};
  for (const file of [
    'modelslab-docs/generation/image-generation_flux_openapi.json',
    'modelslab-docs/generation/image-generation_community-models_openapi.json',
  ]) {
    const doc = JSON.parse(read(file));
    const resolve = (schema) =>
      schema?.$ref ? resolve(doc.components.schemas[schema.$ref.split('/').pop()]) : schema;
    const props = (schema) => {
      const s = resolve(schema) ?? {};
      return [...Object.keys(s.properties ?? {}), ...(s.allOf ?? []).flatMap(props)];
    };
    const base = new URL(doc.servers[0].url).pathname;
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const name = `${method.toUpperCase()} ${base}${path}`;
        const schema = op.requestBody?.content?.['application/json']?.schema;
        fields[name] = [...new Set([...(fields[name] ?? []), ...props(schema)])].sort();
      }
    }
  }
  return fields;
}

const pixelmuse = JSON.parse(read('pixelmuse-openapi.json'));
const fixture = {
  source:
    'Examples from ModelsLab documentation (github.com/ModelsLab/docs-v2, ' +
    `${read('modelslab-docs/SOURCE').trim()}) and the Pixelmuse OpenAPI ${pixelmuse.info.version}, ` +
    'as ../shared/reference holds them; no licence is stated, so only examples and schemas are kept. ' +
    'Regenerate with `node scripts/extract-doc-examples.mjs`.',
  modelslab: PAGES.flatMap(examplesOf).map(({ page, ...rest }) => ({
    page: page.replace('modelslab-docs/', ''),
    ...rest,
  })),
  modelslabRequestFields: modelslabFields(),
  pixelmuse: {
    // The description's error example, the only whole response shown outside the schemas.
    errorExample: JSON.parse(
      /"error": \{\s*"code": "insufficient_credits"[\s\S]*?\n\}/.exec(pixelmuse.info.description)
        ? `{\n  ${/"error": \{\s*"code": "insufficient_credits"[\s\S]*?\n\}/.exec(pixelmuse.info.description)[0]}`
        : 'null',
    ),
    paths: Object.fromEntries(
      Object.entries(pixelmuse.paths).map(([path, ops]) => [
        path,
        Object.fromEntries(
          Object.entries(ops).map(([method, op]) => [
            method,
            {
              ...(op.parameters ? { parameters: op.parameters } : {}),
              ...(op.requestBody ? { requestBody: op.requestBody.content['application/json'].schema } : {}),
              responses: Object.fromEntries(
                Object.entries(op.responses).map(([status, r]) => [
                  status,
                  r.content?.['application/json']?.schema ?? null,
                ]),
              ),
            },
          ]),
        ),
      ]),
    ),
    schemas: pixelmuse.components.schemas,
  },
};

const text = execFileSync('npx', ['prettier', '--stdin-filepath', FIXTURE], {
  input: `${JSON.stringify(fixture, null, 2)}\n`,
  encoding: 'utf8',
});
if (values.check) {
  if (readFileSync(FIXTURE, 'utf8') !== text) {
    console.error(
      `${FIXTURE} differs from the documents in ${ref}: run node scripts/extract-doc-examples.mjs`,
    );
    process.exit(1);
  }
} else writeFileSync(FIXTURE, text);
