import { randomUUID } from 'node:crypto';
import { formatError } from '../error-format.js';
import { TASKS_EXTENSION, type ModernCapabilities } from './modern.js';

// The tasks extension (io.modelcontextprotocol/tasks) of MCP 2026-07-28: a tools/call the client lets become a task
// answers at once with a task handle (`resultType: "task"`); the work goes on, and the client polls tasks/get for
// its status and, at the end, the result the call would have returned. When the work needs the human (a charge to
// approve) the task waits in `input_required` with the requests, and tasks/update brings the answers. No SDK here.

/** The tools whose calls become tasks: they wait for a generation (seconds to minutes) or a training (minutes). */
const TASK_TOOLS = new Set(['generate_image', 'get_generation', 'modelslab_training']);

export const becomesTask = (tool: string, capabilities: ModernCapabilities): boolean =>
  TASK_TOOLS.has(tool) && capabilities.extensions?.[TASKS_EXTENSION] !== undefined;

type Json = Record<string, unknown>;

/** One run of the call: its result, which may be `input_required` (then `requestState` and the requests). */
type TaskAttempt = (
  retry: { requestState: string; inputResponses: Json } | undefined,
  signal: AbortSignal,
  /** What the work reports as it goes (its progress messages): the task's statusMessage. */
  status: (message: string) => void,
) => Promise<Json>;

type Status = 'working' | 'input_required' | 'completed' | 'failed' | 'cancelled';

interface Task {
  taskId: string;
  status: Status;
  statusMessage?: string;
  createdAt: string;
  lastUpdatedAt: string;
  ttlMs: number;
  pollIntervalMs: number;
  inputRequests?: Json;
  result?: Json;
  error?: { code: number; message: string };
}

/** A finished task is kept this long for tasks/get; the saved files and the job id outlive it. */
const TASK_TTL_MS = 60 * 60 * 1000;
const POLL_INTERVAL_MS = 2_000;

export class TaskNotFound extends Error {}

export interface TaskStore {
  /** Starts `attempt` as a task; returns the CreateTaskResult. */
  create(attempt: TaskAttempt): Json;
  /** tasks/get: the task's status, with the requests or the result when there are some. */
  get(taskId: string): Json;
  update(taskId: string, inputResponses: Json): Json;
  cancel(taskId: string): Json;
}

export function createTaskStore(now: () => number = Date.now): TaskStore {
  const tasks = new Map<
    string,
    { task: Task; attempt: TaskAttempt; state?: string; abort: AbortController }
  >();
  const iso = () => new Date(now()).toISOString();
  const find = (taskId: string) => {
    for (const [id, t] of tasks) {
      if (Date.parse(t.task.lastUpdatedAt) + t.task.ttlMs >= now()) continue;
      // A task nobody asked about for its whole lifetime stops too, rather than running on unseen.
      t.abort.abort(new Error('The task expired.'));
      tasks.delete(id);
    }
    const found = tasks.get(taskId);
    if (!found)
      throw new TaskNotFound(
        `No task ${taskId} on this server (tasks last an hour after their last change).`,
      );
    return found;
  };
  const set = (entry: { task: Task }, change: Partial<Task>) => {
    if (entry.task.status === 'cancelled') return;
    entry.task = { ...entry.task, ...change, lastUpdatedAt: iso() };
  };
  const run = (entry: ReturnType<typeof find>, retry?: { requestState: string; inputResponses: Json }) => {
    set(entry, { status: 'working', inputRequests: undefined });
    entry
      .attempt(retry, entry.abort.signal, (statusMessage) => set(entry, { statusMessage }))
      .then((result) => {
        if (result.resultType === 'input_required') {
          entry.state = result.requestState as string;
          set(entry, { status: 'input_required', inputRequests: result.inputRequests as Json });
        } else {
          set(entry, { status: 'completed', result: { ...result, resultType: 'complete' } });
        }
      })
      .catch((error: unknown) =>
        set(entry, {
          status: 'failed',
          // Through the one error text of every result, which is redacted.
          error: { code: -32603, message: formatError(error) },
        }),
      );
  };
  const view = ({ task }: { task: Task }): Json => ({ resultType: 'complete', ...task });

  return {
    create(attempt) {
      const at = iso();
      const task: Task = {
        taskId: `task_${randomUUID()}`,
        status: 'working',
        createdAt: at,
        lastUpdatedAt: at,
        ttlMs: TASK_TTL_MS,
        pollIntervalMs: POLL_INTERVAL_MS,
      };
      const entry = { task, attempt, abort: new AbortController() };
      tasks.set(task.taskId, entry);
      run(entry);
      return { resultType: 'task', task: { ...task } };
    },
    get: (taskId) => view(find(taskId)),
    update(taskId, inputResponses) {
      const entry = find(taskId);
      // Answers to a question the task no longer asks are ignored, as the extension says.
      if (entry.task.status === 'input_required' && entry.state !== undefined) {
        const requestState = entry.state;
        entry.state = undefined;
        run(entry, { requestState, inputResponses });
      }
      return { resultType: 'complete' };
    },
    cancel(taskId) {
      const entry = find(taskId);
      if (entry.task.status === 'working' || entry.task.status === 'input_required') {
        set(entry, { status: 'cancelled' });
        entry.abort.abort(new Error('The task was cancelled by the client.'));
      }
      return { resultType: 'complete' };
    },
  };
}
