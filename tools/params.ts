import * as z from 'zod';
import type { Provider } from '../src/config.js';

// Parameters that several tools share, defined once: every tool then describes them alike, and the
// tools/list a client pays for on every turn stays small. A description says when to use the parameter
// and what it costs, not how it works; the schema (type, bounds, enum) already says the rest.

/** The provider that runs a job; tools offer only the providers that back them. */
export const provider = <const P extends readonly [Provider, ...Provider[]]>(providers: P) =>
  z.enum(providers).describe('Provider that runs the job.');

/** A provider's id for a job or image, exactly as a result printed it. */
export const id = z.string().min(1).describe('Id as a result printed it, e.g. img_abc123.');

export const output_dir = z.string().min(1).optional().describe('Folder under the output root (created).');

export const filename = z
  .string()
  .min(1)
  .optional()
  .describe('Base file name; the extension follows the image type.');

export const preview = z
  .boolean()
  .optional()
  .describe('Default true; false saves ~800 context tokens per image.');

/** How long a call may wait for a job before handing back its id; `min` 0 lets a call only look. */
export const max_wait_seconds = (defaultSeconds: number, min: 0 | 1 = 1) =>
  z
    .number()
    .int()
    .min(min)
    .max(600)
    .optional()
    .describe(`Seconds to wait before returning the job id (default ${defaultSeconds}).`);

export const limit = z.number().int().min(1).max(100).optional().describe('Items per page (default 20).');

export const cursor = z.string().min(1).optional().describe('next_cursor from the previous page.');

/**
 * ModelsLab account credentials: the password goes to ModelsLab only, never into a result or a log. An argument only
 * for clients that cannot open the one-time local page (src/entry/), where the human types it instead.
 */
// Not z.email(): its pattern would add ~60 tokens to every tool that takes an address; ModelsLab checks it.
export const email = z.string().min(3).max(254).describe('Account email address.');
export const password = z.string().min(1).max(200).describe('Headless clients only; omit it.');

/** The second call of a money-moving tool: the token its quote printed, after the human approved. */
export const confirmation_token = z
  .string()
  .min(1)
  .optional()
  .describe('From the quote, once the human approved; omit at first.');

export const payment_method_id = z
  .string()
  .regex(/^pm_\w+$/)
  .optional()
  .describe('Saved card pm_… (default: the default card).');

export const plan_id = z.number().int().positive().describe('Plan id from modelslab_list_plans.');
