import type { LogLevel } from './config.js';
import { redact } from './redact.js';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

// CR and LF would let text from a caller or a provider start a log line of its own; escape sequences and bidi
// overrides would let it rewrite what a terminal shows. All of them are printed as escapes instead.
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u0008\u000a-\u001f\u007f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

function escapeUnprintable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16)}`;
  });
}

/** stderr only: stdout carries JSON-RPC. Every entry is one redacted line. */
export function createLogger(
  level: LogLevel,
  write: (line: string) => void = (l) => process.stderr.write(l),
): Logger {
  const emit = (at: LogLevel) => (message: string) => {
    if (ORDER[at] < ORDER[level]) return;
    write(`[atelier-mcp] ${at}: ${escapeUnprintable(redact(message))}\n`);
  };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
