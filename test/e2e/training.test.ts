import { execFileSync } from 'node:child_process';
import { mkdir, open, readFile, realpath, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ElicitRequestSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { renderImage } from '../../src/sandbox/render.js';
import {
  SANDBOX_MODELSLAB_KEY,
  startModelslabEmulator,
  startStripeEmulator,
  type ModelslabEmulator,
  type StripeEmulator,
} from '../../src/sandbox/index.js';
import { connectBin, requireBuiltBin, BIN, type BinSession } from '../helpers/spawn.js';
import { killHard, newPlace, textOf, type Place } from '../helpers/spend-bins.js';

// LoRA training through the built bin over stdio, against the ModelsLab emulator in accelerated time (one of
// ModelsLab's "minutes" is 300 ms: a status every 1.2 s, slower than the first checks, so each is seen).

let stripe: StripeEmulator;
let modelslab: ModelslabEmulator;
let place: Place;
let project: string;
let outside: string;

beforeAll(async () => {
  requireBuiltBin();
  stripe = await startStripeEmulator();
  modelslab = await startModelslabEmulator({
    stripe,
    training: { minuteMs: 300 },
    generation: { jobDelayMs: 300 },
    walletUsd: 25,
  });
  place = await newPlace('atelier-train-');
  project = await realpath(join(place.dir, 'home'));
  outside = join(place.dir, 'outside');
  await Promise.all([mkdir(join(project, 'products')), mkdir(outside), mkdir(join(project, 'hostile'))]);
  for (const n of [1, 2, 3]) {
    const png = await renderImage({ prompt: `mug ${n}`, model: 'photo', aspectRatio: '1:1', seed: n });
    await writeFile(join(project, 'products', `mug-${n}.png`), png);
  }
  // Hidden files and subfolders are not pictures of the product: they are left out, not refused.
  await writeFile(join(project, 'products', '.DS_Store'), 'not an image');
  await mkdir(join(project, 'products', 'drafts'));
  await writeFile(
    join(outside, 'secret.png'),
    await renderImage({ prompt: 'x', model: 'x', aspectRatio: '1:1' }),
  );
});

afterAll(async () => {
  await Promise.all([modelslab?.close(), stripe?.close()]);
  await place?.remove();
});

const user = () => modelslab.accounts.users[0]!;
const v3 = () => modelslab.requests.filter((r) => r.path.startsWith('/api/v3/'));

/** A server as a client starts it, whose human answers every consent form with `answer`. */
async function server(answer: 'accept' | 'decline' = 'accept'): Promise<BinSession & { asked: string[] }> {
  const asked: string[] = [];
  const session = await connectBin({
    args: [BIN],
    env: place.env({
      MODELSLAB_BASE_URL: modelslab.url,
      STRIPE_API_BASE: stripe.url,
      MODELSLAB_API_KEY: SANDBOX_MODELSLAB_KEY,
      ATELIER_OUTPUT_DIR: join(project, 'generated'),
    }),
    cwd: project,
    roots: [pathToFileURL(project).href],
    capabilities: { elicitation: {} },
    setup: (client) =>
      client.setRequestHandler(ElicitRequestSchema, (req) => {
        asked.push(req.params.message);
        return answer === 'accept' ? { action: 'accept', content: { approve: true } } : { action: 'decline' };
      }),
  });
  return Object.assign(session, { asked });
}

async function call(
  s: BinSession,
  name: string,
  args: Record<string, unknown>,
  progress?: Array<{ message?: string }>,
): Promise<{ text: string; isError: boolean }> {
  const result = (await s.client.callTool({ name, arguments: args }, undefined, {
    timeout: 60_000,
    ...(progress ? { onprogress: (p) => progress.push(p), resetTimeoutOnProgress: true } : {}),
  })) as CallToolResult;
  return { text: textOf(result), isError: result.isError === true };
}

const TRAIN = { instance_prompt: 'photo of zxq mug', class_prompt: 'photo of a mug' };
const idOf = (text: string) => {
  const id = /^Training (\w+) started: deploying_gpu/m.exec(text)?.[1];
  if (!id) throw new Error(`no training id in:\n${text}`);
  return id;
};
const ledger = async () =>
  (await readFile(join(place.spend, 'ledger.jsonl'), 'utf8').catch(() => ''))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('modelslab_train_lora and modelslab_training through the built bin', () => {
  it('lists the train tools because ModelsLab is configured', async () => {
    const s = await server();
    try {
      const names = (await s.client.listTools()).tools.map((t) => t.name);
      expect(names).toEqual(expect.arrayContaining(['modelslab_train_lora', 'modelslab_training']));
    } finally {
      await s.close();
    }
  });

  it('trains on a project folder to model_ready with progress, then generates with the LoRA', async () => {
    const s = await server();
    try {
      const wallet = user().walletUsd;
      const started = await call(s, 'modelslab_train_lora', { images: ['products'], ...TRAIN });
      expect(started.isError, started.text).toBe(false);
      expect(s.asked).toHaveLength(1);
      expect(s.asked[0]).toContain('$1.00');
      const id = idOf(started.text);
      expect(started.text).toContain(`atelier://trainings/${id}`);
      expect(started.text).toContain('it will take upto 28 minutes');
      // A new training is a new resource: the client hears the list changed (nothing else was saved yet). The
      // notification may trail the result on a busy machine.
      await vi.waitFor(
        () =>
          expect(s.messages).toContainEqual(
            expect.objectContaining({ method: 'notifications/resources/list_changed' }),
          ),
        { timeout: 5_000 },
      );

      // Three uploads (the hidden file and the subfolder left out), then one paid request with their links.
      const uploads = v3().filter((r) => r.path === '/api/v3/base64_crop');
      expect(uploads).toHaveLength(3);
      expect((uploads[0]!.body as { image: string }).image).toMatch(/^data:image\/png;base64,iVBOR/);
      const trains = v3().filter((r) => r.path === '/api/v3/lora_fine_tune');
      expect(trains).toHaveLength(1);
      const body = trains[0]!.body as Record<string, unknown>;
      expect(body).toMatchObject({
        ...TRAIN,
        base_model_type: 'sdxl',
        training_type: 'null',
        max_train_steps: '10',
      });
      expect(body.images).toEqual(
        [1, 2, 3].map(() =>
          expect.stringMatching(new RegExp(`^${modelslab.url}/cdn/uploads/[a-f0-9]+\\.png$`)),
        ),
      );
      expect(user().walletUsd).toBe(wallet - 1);
      expect(await ledger()).toEqual([
        expect.objectContaining({ amount: 1, reference: id, operation: 'modelslab.training.lora' }),
      ]);

      const progress: Array<{ message?: string }> = [];
      const done = await call(
        s,
        'modelslab_training',
        { action: 'status', training_id: id, max_wait_seconds: 60 },
        progress,
      );
      expect(done.isError, done.text).toBe(false);
      expect(done.text).toContain(`READY: the model id is ${id}.`);
      const statuses = progress
        .map((p) => new RegExp(`training ${id}: (\\w+)`).exec(p.message ?? '')?.[1])
        .filter((x) => x !== undefined);
      expect([...new Set(statuses)]).toEqual([
        'deploying_gpu',
        'training_started',
        'training_success',
        'trained_model_compressing',
        'trained_model_uploading',
        'trained_model_uploaded',
        'deploying_model',
        'model_ready',
      ]);
      expect(progress.find((p) => p.message?.includes('training_started'))?.message).toMatch(
        /step 2 of 8\), ModelsLab expects about 24 min more/,
      );

      const image = await call(s, 'generate_image', {
        provider: 'modelslab',
        model: id,
        prompt: 'zxq mug on a beach',
        preview: false,
      });
      expect(image.isError, image.text).toBe(false);
      const text2img = modelslab.requests.filter((r) => r.path === '/api/v6/images/text2img').at(-1)!;
      expect(text2img.body).toMatchObject({ model_id: 'sdxl', lora_model: id });

      const models = await call(s, 'list_models', { provider: 'modelslab' });
      expect(models.text).toMatch(new RegExp(`Your trained LoRAs \\(1\\):\\n- ${id}: model_ready, sdxl`));
      const { resources } = await s.client.listResources();
      expect(resources.map((r) => r.uri)).toContain(`atelier://trainings/${id}`);
      const read = await s.client.readResource({ uri: `atelier://trainings/${id}` });
      expect((read.contents[0] as { text: string }).text).toContain('model_ready (ready)');

      // The key went in every /api/v3 body; it is in no result, no log line and not in the trainings file.
      const seen = [
        started.text,
        done.text,
        image.text,
        models.text,
        ...progress.map((p) => p.message ?? ''),
      ];
      seen.push(s.stderr.join('\n'), await readFile(join(place.home, 'trainings.jsonl'), 'utf8'));
      for (const text of seen) expect(text).not.toContain(SANDBOX_MODELSLAB_KEY);
    } finally {
      await s.close();
    }
  }, 90_000);

  it('sends nothing when the human declines', async () => {
    const s = await server('decline');
    try {
      const before = modelslab.requests.length;
      const wallet = user().walletUsd;
      const lines = (await ledger()).length;
      const answer = await call(s, 'modelslab_train_lora', { images: ['products'], ...TRAIN });
      expect(s.asked).toHaveLength(1);
      expect(answer.text).toMatch(/declined/i);
      expect(modelslab.requests.slice(before)).toEqual([]);
      expect(user().walletUsd).toBe(wallet);
      expect(await ledger()).toHaveLength(lines);
    } finally {
      await s.close();
    }
  });

  it('resumes a training by id after the server is killed in the middle', async () => {
    const first = await server();
    const id = idOf(
      (await call(first, 'modelslab_train_lora', { images: ['products/mug-1.png'], ...TRAIN })).text,
    );
    const waiting = call(first, 'modelslab_training', {
      action: 'status',
      training_id: id,
      max_wait_seconds: 60,
    });
    waiting.catch(() => undefined);
    while (!v3().some((r) => r.path === `/api/v3/fine_tune_status/${id}`))
      await new Promise((r) => setTimeout(r, 20));
    await killHard(first);

    const second = await server();
    try {
      const { resources } = await second.client.listResources();
      expect(resources.map((r) => r.uri)).toContain(`atelier://trainings/${id}`);
      const done = await call(second, 'modelslab_training', {
        action: 'status',
        training_id: id,
        max_wait_seconds: 60,
      });
      expect(done.text).toContain(`READY: the model id is ${id}.`);
      expect(done.text).toContain('1 image(s); instance prompt: "photo of zxq mug"');
      // One training, one charge, whichever process followed it.
      expect((await ledger()).filter((e) => e.reference === id)).toHaveLength(1);
    } finally {
      await second.close();
    }
  }, 90_000);

  it('cancels a training, then deletes it', async () => {
    const s = await server();
    try {
      const id = idOf(
        (await call(s, 'modelslab_train_lora', { images: ['products/mug-2.png'], ...TRAIN })).text,
      );
      const cancelled = await call(s, 'modelslab_training', { action: 'cancel', training_id: id });
      expect(cancelled.text).toMatch(
        new RegExp(`^Cancelled training ${id}: .*Status now: training_cancelled\\.`),
      );
      const status = await call(s, 'modelslab_training', {
        action: 'status',
        training_id: id,
        max_wait_seconds: 5,
      });
      expect(status.text).toContain('Ended canceled');
      const generate = await call(s, 'generate_image', { provider: 'modelslab', model: id, prompt: 'a mug' });
      expect(generate.isError).toBe(true);
      expect(generate.text).toContain(`The LoRA training ${id} is training_cancelled, not model_ready.`);

      const deleted = await call(s, 'modelslab_training', { action: 'delete', training_id: id });
      expect(deleted.text).toMatch(new RegExp(`^Deleted training ${id}: `));
      const list = await call(s, 'modelslab_training', { action: 'list' });
      expect(list.text).not.toContain(id);
      await expect(s.client.readResource({ uri: `atelier://trainings/${id}` })).rejects.toThrow(
        /No training/,
      );
      const again = await call(s, 'modelslab_training', {
        action: 'status',
        training_id: id,
        max_wait_seconds: 0,
      });
      expect(again.isError).toBe(true);
      expect(again.text).toMatch(/HTTP 404/);
      expect(again.text).toContain('Next: Call modelslab_training {action: "list"}');
    } finally {
      await s.close();
    }
  }, 60_000);

  describe('refuses hostile images before anything is asked, uploaded or paid', () => {
    let s: BinSession & { asked: string[] };
    beforeAll(async () => {
      const hostile = join(project, 'hostile');
      await mkdir(join(hostile, 'fifo'));
      await writeFile(join(hostile, 'fifo', 'a.png'), await readFile(join(project, 'products', 'mug-1.png')));
      execFileSync('mkfifo', [join(hostile, 'fifo', 'b.png')]);
      await symlink(join(outside, 'secret.png'), join(hostile, 'link-out.png'));
      await symlink(outside, join(hostile, 'folder-out'));
      // 60 MB that take no disk: the size is known from stat, before a byte is read.
      const big = await open(join(hostile, 'big.png'), 'w');
      await big.write(await readFile(join(project, 'products', 'mug-1.png')));
      await big.truncate(60 * 1024 * 1024);
      await big.close();
      await writeFile(join(hostile, 'notes.png'), 'just some text, not a picture');
      s = await server();
    });
    afterAll(() => s?.close());

    it.each([
      ['a folder with a FIFO', 'hostile/fifo', /b\.png is a device, pipe or socket/],
      ['a symlink out of the project', 'hostile/link-out.png', /leads outside the project/],
      ['a folder symlinked out of the project', 'hostile/folder-out', /leads outside the project/],
      ['an absolute path elsewhere', '../outside/secret.png', /leads outside the project/],
      ['a 60 MB file', 'hostile/big.png', /is 60 MB; the limit is 10 MB/],
      [
        'a file that is not an image',
        'hostile/notes.png',
        /is not a PNG, JPEG, WebP, GIF, AVIF or HEIC image/,
      ],
    ])('%s', async (_, image, why) => {
      const before = modelslab.requests.length;
      const asked = s.asked.length;
      const wallet = user().walletUsd;
      const answer = await call(s, 'modelslab_train_lora', { images: [image], ...TRAIN });
      expect(answer.isError).toBe(true);
      expect(answer.text).toMatch(why);
      expect(s.asked.slice(asked)).toEqual([]);
      expect(modelslab.requests.slice(before)).toEqual([]);
      expect(user().walletUsd).toBe(wallet);
    });
  });
});
