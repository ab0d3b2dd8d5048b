import { afterEach, describe, expect, it } from 'vitest';
import { renderImage } from '../../src/sandbox/render.js';
import {
  SANDBOX_MODELSLAB_KEY,
  startModelslabEmulator,
  type ModelslabEmulator,
} from '../../src/sandbox/index.js';

// The /api/v3 training emulator on its own: documented fields only, $1 from the wallet, the documented statuses
// in accelerated time (a clock the test moves), and LoRAs that generation takes only when ready.

let ml: ModelslabEmulator | undefined;
let clock = 0;
afterEach(async () => {
  await ml?.close();
  ml = undefined;
});

async function start(walletUsd = 25) {
  clock = 1_000_000;
  ml = await startModelslabEmulator({ walletUsd, now: () => clock, training: { minuteMs: 1_000 } });
  return ml;
}

async function post(path: string, body: Record<string, unknown> = {}) {
  const res = await fetch(`${ml!.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ key: SANDBOX_MODELSLAB_KEY, ...body }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const TRAINING = {
  instance_prompt: 'photo of zxq mug',
  class_prompt: 'photo of a mug',
  images: ['https://example.com/1.png'],
  training_type: 'null',
  max_train_steps: '10',
};
const wallet = () => ml!.accounts.users[0]!.walletUsd;

describe('ModelsLab training emulator', () => {
  it('charges $1 and walks every documented status with its log and ETA, then lists the model', async () => {
    await start();
    const created = await post('/api/v3/lora_fine_tune', TRAINING);
    expect(created.body).toMatchObject({
      status: 'success',
      messege: 'deploying_gpu',
      data: 'it will take upto 28 minutes.',
    });
    const id = created.body.training_id as string;
    expect(id).toMatch(/^[A-Za-z0-9]{10}$/);
    expect(wallet()).toBe(24);
    const seen: string[] = [];
    for (let minute = 0; minute <= 32; minute += 4) {
      clock = 1_000_000 + minute * 1_000;
      const { body } = await post(`/api/v3/fine_tune_status/${id}`);
      seen.push(body.messege as string);
      if (minute === 4)
        expect(body.data).toContain('Step:2 training_started, 6 Steps to go : ETA : 24 minutes');
    }
    expect(seen).toEqual([
      'deploying_gpu',
      'training_started',
      'training_success',
      'trained_model_compressing',
      'trained_model_uploading',
      'trained_model_uploaded',
      'deploying_model',
      'model_ready',
      'model_ready',
    ]);
    expect((await post('/api/v3/finetune_list')).body).toEqual({
      status: 'success',
      messege: 'model list',
      data: [id],
    });
  });

  it.each([
    ['an undocumented field', { ...TRAINING, steps: 10 }, /Unknown field\(s\): steps/],
    ['no class_prompt', { ...TRAINING, class_prompt: undefined }, /class prompt field is required/],
    ['a training_type not documented', { ...TRAINING, training_type: 'dogs' }, /training type is invalid/],
    ['max_train_steps as a number', { ...TRAINING, max_train_steps: 18 }, /max train steps/],
    ['max_train_steps under 10', { ...TRAINING, max_train_steps: '9' }, /max train steps/],
    ['max_train_steps over 50', { ...TRAINING, max_train_steps: '51' }, /max train steps/],
    ['a base model not documented', { ...TRAINING, base_model_type: 'flux' }, /base model type is invalid/],
    [
      'images that are not URLs',
      { ...TRAINING, images: ['data:image/png;base64,AAAA'] },
      /list of image URLs/,
    ],
    ['no images', { ...TRAINING, images: [] }, /list of image URLs/],
  ])('refuses %s without charging', async (_, body, why) => {
    await start();
    const answer = await post('/api/v3/lora_fine_tune', body);
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ status: 'error', messege: expect.stringMatching(why) });
    expect(wallet()).toBe(25);
  });

  it('answers 402 on an empty wallet and charges nothing', async () => {
    await start(0);
    const answer = await post('/api/v3/lora_fine_tune', TRAINING);
    expect(answer.status).toBe(402);
    expect((await post('/api/v3/finetune_list')).body.data).toEqual([]);
  });

  it('fails a training on request ("explode") after it started', async () => {
    await start();
    const { body } = await post('/api/v3/lora_fine_tune', {
      ...TRAINING,
      instance_prompt: 'photo of explode mug',
    });
    clock += 20_000;
    expect((await post(`/api/v3/fine_tune_status/${String(body.training_id)}`)).body).toMatchObject({
      status: 'failed',
      messege: 'training_failed',
    });
  });

  it('uploads a base64 image and serves it at the link; refuses what is not an image', async () => {
    await start();
    const png = await renderImage({ prompt: 'x', model: 'x', aspectRatio: '1:1' });
    const up = await post('/api/v3/base64_crop', {
      image: `data:image/png;base64,${png.toString('base64')}`,
      crop: 'true',
    });
    expect(up.body).toMatchObject({ status: 'success', messege: 'image uploaded' });
    const served = await fetch(up.body.link as string);
    expect(Buffer.from(await served.arrayBuffer())).toEqual(png);
    const text = Buffer.from('not a picture').toString('base64');
    expect((await post('/api/v3/base64_crop', { image: `data:image/png;base64,${text}` })).status).toBe(400);
    expect((await post('/api/v3/base64_crop', { image: png.toString('base64') })).status).toBe(400);
  });

  it('cancels under both documented spellings, deletes, and then knows the training no more', async () => {
    await start();
    const a = (await post('/api/v3/lora_fine_tune', TRAINING)).body.training_id as string;
    const b = (await post('/api/v3/lora_fine_tune', TRAINING)).body.training_id as string;
    expect((await post(`/api/v3/cancel_training/${a}`)).body).toMatchObject({ status: 'success' });
    expect((await post(`/api/v3/cancle_training/${b}`)).body).toMatchObject({ status: 'success' });
    expect((await post(`/api/v3/fine_tune_status/${a}`)).body.messege).toBe('training_cancelled');
    expect((await post(`/api/v3/cancel_training/${a}`)).body).toMatchObject({ status: 'error' });
    expect((await post(`/api/v3/finetune/delete/${a}`)).body).toMatchObject({ status: 'success' });
    expect((await post(`/api/v3/fine_tune_status/${a}`)).status).toBe(404);
    expect((await post('/api/v3/finetune_list')).body.data).toEqual([b]);
  });

  it('generates with a trained LoRA only when it is ready, on its base, and never on flux', async () => {
    await start();
    const id = (await post('/api/v3/lora_fine_tune', TRAINING)).body.training_id as string;
    const generate = (model: string) =>
      post('/api/v6/images/text2img', { model_id: model, prompt: 'zxq mug', lora_model: id });
    expect((await generate('sdxl')).body).toMatchObject({
      status: 'error',
      message: `The lora model ${id} is not ready (deploying_gpu).`,
    });
    clock += 60_000;
    expect((await generate('flux')).body.message).toMatch(/flux does not support lora trained on SD models/);
    expect((await generate('midjourney')).body.message).toMatch(
      /trained on sdxl and does not fit midjourney/,
    );
    const ready = await generate('sdxl');
    expect(ready.body.status, JSON.stringify(ready.body)).not.toBe('error');
    expect(ready.body.id).toEqual(expect.any(Number));
  });
});
