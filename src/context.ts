import type { Config } from './config.js';
import type { Credentials } from './credentials/index.js';
import type { Generations } from './history/store.js';
import type { Trainings } from './history/trainings.js';
import type { Logger } from './log.js';
import type { Media } from './media/index.js';
import type { ModelslabClient } from './providers/modelslab/agents.js';
import type { PixelmuseClient } from './providers/pixelmuse/client.js';
import type { SptSettings } from './providers/mpp-settings.js';
import type { Consent, ConsentAnswer, Spend, SpendBook } from './spend/index.js';

export type ContentBlock =
  | { type: 'text'; text: string }
  | { type: 'image'; data: string; mimeType: string }
  /** A pointer to an MCP resource (a saved generation) that the client can read later without the bytes here. */
  | {
      type: 'resource_link';
      uri: string;
      name: string;
      title?: string;
      description?: string;
      mimeType?: string;
    };

/** A URL the client opened for the human (MCP URL-mode elicitation), followed to its end. */
export interface OpenedUrl {
  answer: ConsentAnswer;
  /** Tells the client the page is done (notifications/elicitation/complete). Never throws. */
  complete(): Promise<void>;
}

/** A one-time page still open from an earlier call (src/entry/ keeps the rest of its state). */
export interface OpenSecretPage {
  close(): Promise<void>;
}

/**
 * How a secret reaches the server without passing through the model: a one-time page on 127.0.0.1
 * (src/entry/), opened for the human by the client when it can (URL-mode elicitation).
 */
export interface SecretPages {
  /** The client declared `elicitation.url`: it can open a page for the human. */
  canOpenUrl(): boolean;
  /** Asks the client to open `url`; `complete()` tells it when the page is done. */
  openUrl(message: string, url: string): Promise<OpenedUrl>;
  /**
   * 2026-07-28: the human's answer to the page this call is a retry for (the client opened it, or would not), or
   * undefined. Absent in the 2025 era, where openUrl waits for the answer.
   */
  answered?(): ConsentAnswer | undefined;
  /** Pages this server opened whose link went into a result, by tool and arguments: a later call waits for them. */
  readonly open: Map<string, OpenSecretPage>;
}

/** What a handler may return; src/mcp/server.ts turns each into a CallToolResult. */
export type ToolOutput = string | ContentBlock[];

/** What a tool handler may use. Deliberately not the SDK: tests build one in a line or two. */
export interface ToolContext {
  config: Config;
  pixelmuse: PixelmuseClient;
  /**
   * ModelsLab: the Agents API (token source with refresh, limiters, `request()` for any /api/agents/v1 call)
   * and `apiKey()`, the stored generation key.
   */
  modelslab: ModelslabClient;
  credentials: Credentials;
  /** MPP payment (Shared Payment Tokens) from ATELIER_STRIPE_SECRET_KEY + ATELIER_MPP_PAYMENT_METHOD. */
  mpp: { settings?: SptSettings; problem?: string; warning?: string };
  media: Media;
  /** Saved generations (ATELIER_HOME/generations.jsonl), served as atelier://generations/{id} resources. */
  generations: Generations;
  /** ModelsLab LoRA trainings (ATELIER_HOME/trainings.jsonl), served as atelier://trainings/{id} resources. */
  trainings: Trainings;
  log: Logger;
  /**
   * The one door for money and for requests that must not happen twice (src/spend/): consent, caps, durable
   * Idempotency-Keys and the ledger. Tools describe the charge and how to send it; `ctx.spend.charge` answers
   * with a quote or the result, `ctx.spend.once` sends a card change or a job's create request at most once.
   */
  spend: Spend;
  /** Reaching the human through the client (elicitation), when it can: a form to approve, a URL to open. */
  confirm: Consent;
  /** Cards, passwords and keys typed by the human into a one-time local page, never into the conversation. */
  pages: SecretPages;
  /** Aborted when the client cancels the call or disconnects. */
  signal: AbortSignal;
  /**
   * Report what is happening; sent only if the client asked for progress, at most every 5 s unless it is a
   * milestone. An eta (seconds still needed, as a provider estimates it) adds a `total` to the notification.
   */
  progress(message: string, opts?: { etaSeconds?: number; milestone?: boolean }): void;
}

/** The per-server part of a ToolContext; src/mcp/server.ts adds signal, progress and the consent seam per call. */
export type ServerServices = Omit<
  ToolContext,
  'signal' | 'progress' | 'media' | 'spend' | 'confirm' | 'pages'
> & {
  spendBook: SpendBook;
};
