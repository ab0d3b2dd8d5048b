import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { renderImage } from '../../src/sandbox/render.js';
import { startModernClient, textOf, type ModernClient } from '../helpers/modern-client.js';
import { newPlace, requireTestBin, type Place } from '../helpers/spend-bins.js';

/**
 * The tasks extension of 2026-07-28 against the built bin in --sandbox: a client that declares it gets a task
 * for generate_image and get_generation, polls tasks/get, answers the task's questions with tasks/update and finds
 * the result the call would have returned. A client without it gets the result (and the job id) as before.
 */

const TASKS = { extensions: { 'io.modelcontextprotocol/tasks': {} } };
const FORM = { elicitation: { form: {} } };

let place: Place | undefined;
let client: ModernClient | undefined;

afterEach(async () => {
  await client?.close();
  await place?.remove();
  client = undefined;
  place = undefined;
});

async function start(): Promise<ModernClient> {
  requireTestBin();
  place = await newPlace('atelier-tasks-');
  const env = place.env();
  delete env.ATELIER_OUTPUT_DIR;
  client = startModernClient(env, ['--sandbox']);
  return client;
}

type Task = {
  taskId: string;
  status: string;
  statusMessage?: string;
  inputRequests?: Record<string, { method: string }>;
  result?: Record<string, unknown>;
};

async function until(c: ModernClient, taskId: string, done: (t: Task) => boolean): Promise<Task> {
  for (let i = 0; i < 200; i++) {
    const answer = await c.request('tasks/get', { taskId }, TASKS);
    const task = answer.result as unknown as Task;
    if (done(task)) return task;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`task ${taskId} never got there:\n${c.stderr()}`);
}

describe('tasks (io.modelcontextprotocol/tasks) over stdio', () => {
  it('runs generate_image as a task, then get_generation as one, each ending with the call result', async () => {
    const c = await start();
    const created = await c.call(
      'generate_image',
      { prompt: 'a red fox', preview: false },
      { capabilities: TASKS },
    );
    expect(created.resultType).toBe('task');
    const { taskId, status, pollIntervalMs } = created.task as {
      taskId: string;
      status: string;
      pollIntervalMs: number;
    };
    expect(status).toBe('working');
    expect(pollIntervalMs).toBeGreaterThan(0);
    const done = await until(c, taskId, (t) => t.status === 'completed');
    const text = textOf(done.result!);
    expect(done.result?.resultType).toBe('complete');
    expect(text).toMatch(/generated/);
    const jobId = /pixelmuse-(img_\w+)/.exec(text)?.[1];
    expect(jobId, text).toBeDefined();

    const again = await c.call(
      'get_generation',
      { provider: 'pixelmuse', id: jobId, preview: false },
      { capabilities: TASKS },
    );
    expect(again.resultType, textOf(again)).toBe('task');
    const fetched = await until(c, (again.task as Task).taskId, (t) => t.status === 'completed');
    expect(textOf(fetched.result!)).toContain(jobId);
    // A modern client has no subscriptions/listen stream here: no unsolicited list_changed reaches it.
    expect(c.received.filter((m) => m.method === 'notifications/resources/list_changed')).toEqual([]);
  }, 60_000);

  it('asks its questions through tasks/get and takes the answers by tasks/update', async () => {
    const c = await start();
    const project = join(place!.dir, 'project');
    const created = await c.call(
      'generate_image',
      { prompt: 'a red fox', preview: false },
      { capabilities: { ...TASKS, roots: {} } },
    );
    const { taskId } = created.task as Task;
    const waiting = await until(c, taskId, (t) => t.status !== 'working');
    expect(waiting.status).toBe('input_required');
    expect(waiting.inputRequests?.roots?.method).toBe('roots/list');
    const ack = await c.request(
      'tasks/update',
      { taskId, inputResponses: { roots: { roots: [{ uri: pathToFileURL(project).href }] } } },
      TASKS,
    );
    expect(ack.result).toMatchObject({ resultType: 'complete' });
    const done = await until(c, taskId, (t) => t.status === 'completed' || t.status === 'failed');
    expect(done.status, JSON.stringify(done)).toBe('completed');
    expect((await readdir(join(project, 'generated'))).length).toBeGreaterThan(0);
  }, 60_000);

  it('cancels a task, answers an unknown task with an error, and gives a client without the extension its result', async () => {
    const c = await start();
    const created = await c.call(
      'generate_image',
      { prompt: 'slow fox', preview: false },
      { capabilities: TASKS },
    );
    const { taskId } = created.task as Task;
    expect((await c.request('tasks/cancel', { taskId }, TASKS)).result).toMatchObject({
      resultType: 'complete',
    });
    expect((await c.request('tasks/get', { taskId }, TASKS)).result).toMatchObject({ status: 'cancelled' });
    expect((await c.request('tasks/get', { taskId: 'task_nope' }, TASKS)).error?.code).toBe(-32602);

    const plain = await c.call('generate_image', { prompt: 'a red fox', preview: false });
    expect(plain.resultType).toBe('complete');
    expect(textOf(plain)).toMatch(/pixelmuse-img_/);
  }, 60_000);

  it('follows a LoRA training as a task until the model is ready', async () => {
    const c = await start();
    await mkdir(join(place!.dir, 'home', 'products'), { recursive: true });
    for (const n of [1, 2]) {
      const png = await renderImage({ prompt: `mug ${n}`, model: 'photo', aspectRatio: '1:1', seed: n });
      await writeFile(join(place!.dir, 'home', 'products', `mug-${n}.png`), png);
    }
    const train = {
      images: ['products'],
      instance_prompt: 'photo of zxq mug',
      class_prompt: 'photo of a mug',
    };
    const asked = await c.call('modelslab_train_lora', train, { capabilities: FORM });
    expect(asked.resultType, textOf(asked)).toBe('input_required');
    const started = await c.call('modelslab_train_lora', train, {
      capabilities: FORM,
      requestState: asked.requestState as string,
      inputResponses: { consent: { action: 'accept', content: { approve: true } } },
    });
    const trainingId = /^Training (\w+) started/m.exec(textOf(started))?.[1];
    expect(trainingId, textOf(started)).toBeDefined();

    const followed = await c.call(
      'modelslab_training',
      { action: 'status', training_id: trainingId, max_wait_seconds: 120 },
      { capabilities: TASKS },
    );
    expect(followed.resultType, textOf(followed)).toBe('task');
    const { taskId } = followed.task as Task;
    const seen = new Set<string>();
    const done = await until(c, taskId, (t) => {
      if (t.statusMessage) seen.add(t.statusMessage);
      return t.status === 'completed';
    });
    expect(textOf(done.result!)).toMatch(/READY: the model id is/);
    // The task's status followed the training through its statuses, not only its end.
    expect([...seen].some((m) => /deploying_gpu|training_started|trained/.test(m))).toBe(true);
  }, 90_000);
});
