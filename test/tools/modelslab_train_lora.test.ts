import { mkdir, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import { TOOLSETS } from '../../src/config.js';
import { renderImage } from '../../src/sandbox/render.js';
import { startHarness, textOf, type Harness } from '../helpers/harness.js';

// The money side of modelslab_train_lora against the emulators (in-memory client): the two-step quote, a wallet
// that cannot pay, an answer lost after ModelsLab charged, a training that fails, and params.

let h: Harness | undefined;
let project: string;

beforeAll(async () => {
  project = await realpath(await mkdtemp(join(tmpdir(), 'atelier-train-')));
  await mkdir(join(project, 'shots'));
  for (const n of [1, 2]) {
    const png = await renderImage({ prompt: `shot ${n}`, model: 'x', aspectRatio: '1:1' });
    await writeFile(join(project, 'shots', `${n}.png`), png);
  }
});
afterAll(() => rm(project, { recursive: true, force: true }));
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function harness(opts: { walletUsd?: number; human?: 'accept' } = {}) {
  h = await startHarness({
    config: { toolsets: [...TOOLSETS] },
    modelslab: { walletUsd: opts.walletUsd ?? 25, training: { minuteMs: 100 } },
    roots: [pathToFileURL(project).href],
    ...(opts.human ? { capabilities: { elicitation: {} } } : {}),
  });
  if (opts.human)
    h.client.setRequestHandler(ElicitRequestSchema, () => ({ action: 'accept', content: { approve: true } }));
  return h;
}

const ARGS = { images: ['shots'], instance_prompt: 'photo of zxq shoe', class_prompt: 'photo of a shoe' };
const v3 = () => h!.modelslab.requests.filter((r) => r.path.startsWith('/api/v3/'));
const trains = () => v3().filter((r) => r.path === '/api/v3/lora_fine_tune');
const wallet = () => h!.modelslab.accounts.users[0]!.walletUsd;
const ledger = async () =>
  (await readFile(join(h!.home, 'spend', 'ledger.jsonl'), 'utf8').catch(() => ''))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('modelslab_train_lora', () => {
  it('quotes first and sends nothing; the confirmation_token trains once; the token again sends nothing', async () => {
    await harness();
    const quote = textOf(await h!.call('modelslab_train_lora', ARGS));
    expect(quote).toContain('$1.00');
    const token = /confirmation_token: (ct_\S+)/.exec(quote)?.[1];
    expect(token).toBeDefined();
    expect(h!.modelslab.requests).toEqual([]);

    const done = textOf(await h!.call('modelslab_train_lora', { ...ARGS, confirmation_token: token }));
    expect(done).toMatch(/^Training \w+ started: deploying_gpu/);
    expect(trains()).toHaveLength(1);
    expect(trains()[0]!.body).toMatchObject({ max_train_steps: '10', training_type: 'null' });
    expect(wallet()).toBe(24);

    const again = textOf(await h!.call('modelslab_train_lora', { ...ARGS, confirmation_token: token }));
    expect(again).not.toMatch(/^Training \w+ started/);
    expect(trains()).toHaveLength(1);
    expect(await ledger()).toHaveLength(1);
  });

  it('reports a wallet that cannot pay (402) with the next step, and books nothing', async () => {
    await harness({ walletUsd: 0, human: 'accept' });
    const result = await h!.call('modelslab_train_lora', ARGS);
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/HTTP 402/);
    expect(textOf(result)).toMatch(/Next: .*(modelslab_wallet|fund)/);
    expect(await ledger()).toEqual([]);
    expect(h!.modelslab.accounts.users[0]!.walletUsd).toBe(0);
  });

  it('after a lost answer, the same call finds the training ModelsLab made and books it once', async () => {
    await harness({ human: 'accept' });
    h!.modelslab.inject({ path: '/api/v3/lora_fine_tune', answerInstead: { status: 502 } });
    const lost = await h!.call('modelslab_train_lora', ARGS);
    expect(lost.isError).toBe(true);
    expect(textOf(lost)).toMatch(/OUTCOME UNKNOWN/);
    expect(textOf(lost)).toContain('it sends no second training, it finds the one ModelsLab made');
    expect(wallet()).toBe(24);
    expect(await ledger()).toEqual([]);

    const settled = textOf(await h!.call('modelslab_train_lora', ARGS));
    const id = /^Training (\w+) started/.exec(settled)?.[1];
    expect(id, settled).toBeDefined();
    expect(settled).toContain('charged once, not twice');
    expect(trains()).toHaveLength(1);
    expect(wallet()).toBe(24);
    expect(await ledger()).toEqual([expect.objectContaining({ reference: id, amount: 1 })]);
  });

  it('passes documented params as the documents type them and refuses others before anything is sent', async () => {
    await harness({ human: 'accept' });
    const refused = await h!.call('modelslab_train_lora', { ...ARGS, params: { scheduler: 'x' } });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toMatch(/params takes only max_train_steps/);
    expect(h!.modelslab.requests).toEqual([]);
    await h!.call('modelslab_train_lora', {
      ...ARGS,
      params: { max_train_steps: 30, seed: 7, lora_type: 'lycoris' },
    });
    expect(trains()[0]!.body).toMatchObject({ max_train_steps: '30', seed: '7', lora_type: 'lycoris' });
  });

  it('holds params.wandb_key as a secret: an upstream that echoes it back shows it masked', async () => {
    await harness({ human: 'accept' });
    const wandb = 'wandb0f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7';
    h!.modelslab.inject({
      path: '/api/v3/lora_fine_tune',
      answerInstead: { status: 422, body: { status: 'error', message: `bad wandb key ${wandb}` } },
    });
    const refused = await h!.call('modelslab_train_lora', { ...ARGS, params: { wandb_key: wandb } });
    expect(refused.isError).toBe(true);
    expect(trains()[0]!.body).toMatchObject({ wandb_key: wandb });
    expect(textOf(refused)).toContain('bad wandb key');
    expect(textOf(refused)).not.toContain(wandb.slice(0, 12));
  });

  it('reports a training that failed with ModelsLab words', async () => {
    await harness({ human: 'accept' });
    const started = textOf(
      await h!.call('modelslab_train_lora', { ...ARGS, instance_prompt: 'photo of explode shoe' }),
    );
    const id = /^Training (\w+) started/.exec(started)![1]!;
    const status = textOf(
      await h!.call('modelslab_training', { action: 'status', training_id: id, max_wait_seconds: 10 }),
    );
    expect(status).toContain('training_failed (failed)');
    expect(status).toContain('Ended failed');
  });
});
