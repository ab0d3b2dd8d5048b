export interface SecretInput extends NodeJS.ReadableStream {
  isTTY?: boolean;
  isRaw?: boolean;
  setRawMode?(mode: boolean): unknown;
}

export interface ReadSecretOptions {
  prompt: string;
  input?: SecretInput;
  output?: NodeJS.WritableStream;
}

const ENTER = new Set(['\r', '\n']);
const CTRL_C = '\u0003';
const CTRL_D = '\u0004';
const CTRL_U = '\u0015';
const BACKSPACE = new Set(['\u007f', '\b']);
const ESC = '\u001b';

/**
 * Read a secret without echoing it. On a terminal: prompt on `output`, raw mode, no echo. Otherwise
 * (piped, redirected): the first non-empty line of the whole input, trimmed, and no prompt.
 */
export function readSecret({
  prompt,
  input = process.stdin,
  output = process.stderr,
}: ReadSecretOptions): Promise<string> {
  if (input.isTTY && typeof input.setRawMode === 'function') return readFromTerminal(prompt, input, output);
  return readAll(input);
}

async function readAll(input: NodeJS.ReadableStream): Promise<string> {
  return (await nonEmptyLines(input))[0] ?? '';
}

async function nonEmptyLines(input: NodeJS.ReadableStream): Promise<string[]> {
  let text = '';
  for await (const chunk of input)
    text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

export interface Field {
  prompt: string;
  /** Read without echo on a terminal. */
  secret: boolean;
}

/**
 * Several answers in order (an email, then a password). On a terminal each is prompted, the secret ones
 * without echo; otherwise the first non-empty lines of the input, one per field, with no prompt.
 */
export async function readFields(
  fields: Field[],
  { input = process.stdin, output = process.stderr }: Omit<ReadSecretOptions, 'prompt'> = {},
): Promise<string[]> {
  if (!(input.isTTY && typeof input.setRawMode === 'function')) {
    return (await nonEmptyLines(input)).slice(0, fields.length);
  }
  const answers: string[] = [];
  for (const field of fields) {
    answers.push(
      field.secret
        ? await readFromTerminal(field.prompt, input, output)
        : await readVisible(field.prompt, input, output),
    );
  }
  return answers;
}

async function readVisible(
  prompt: string,
  input: SecretInput,
  output: NodeJS.WritableStream,
): Promise<string> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input, output, terminal: true });
  try {
    return (await rl.question(prompt)).trim();
  } finally {
    rl.close();
  }
}

function readFromTerminal(
  prompt: string,
  input: SecretInput,
  output: NodeJS.WritableStream,
): Promise<string> {
  const wasRaw = input.isRaw === true;
  output.write(prompt);
  return new Promise<string>((resolve, reject) => {
    let chars: string[] = [];
    // Inside an escape sequence (arrow keys, bracketed-paste markers): skipped, never part of the secret.
    let escape: 'none' | 'esc' | 'csi' = 'none';

    const finish = (error?: Error): void => {
      input.removeListener('data', onData);
      input.removeListener('end', onEnd);
      input.removeListener('error', onError);
      try {
        input.setRawMode?.(wasRaw);
      } finally {
        input.pause();
        // Enter is not echoed either: end the prompt line ourselves.
        output.write('\n');
        if (error) reject(error);
        else resolve(chars.join('').trim());
      }
    };

    const onData = (chunk: string | Buffer): void => {
      const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      for (const ch of text) {
        if (escape === 'esc') {
          escape = ch === '[' ? 'csi' : 'none';
          continue;
        }
        if (escape === 'csi') {
          if (ch >= '@' && ch <= '~') escape = 'none';
          continue;
        }
        if (ENTER.has(ch)) return finish();
        if (ch === CTRL_C) return finish(new Error('cancelled'));
        if (ch === CTRL_D) return chars.length === 0 ? finish(new Error('cancelled')) : finish();
        if (ch === CTRL_U) chars = [];
        else if (BACKSPACE.has(ch)) chars.pop();
        else if (ch === ESC) escape = 'esc';
        else if (ch >= ' ') chars.push(ch);
      }
    };
    const onEnd = (): void => (chars.length === 0 ? finish(new Error('cancelled')) : finish());
    const onError = (err: Error): void => finish(err);

    try {
      input.setRawMode?.(true);
    } catch (err) {
      output.write('\n');
      reject(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    input.on('data', onData);
    input.on('end', onEnd);
    input.on('error', onError);
    input.resume();
  });
}
