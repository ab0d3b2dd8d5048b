import { join } from 'node:path';
import type { Logger } from '../src/log.js';
import { builtinTemplates } from './builtin.js';
import { completeArgument } from './complete.js';
import { promptArguments, renderTemplate, type PromptArgument, type PromptTemplate } from './template.js';
import { createUserTemplateReader, type Problem } from './user.js';

export type { PromptArgument, PromptTemplate, Problem };

export interface PromptCatalog {
  /** Built-ins, with a user's template of the same name in place of the built-in. */
  prompts: PromptTemplate[];
  /** The user's files that were skipped. */
  problems: Problem[];
  /** Built-in names that a user's template replaces. */
  replaced: string[];
  userDir: string;
}

/** What an MCP prompts/list entry holds. */
export interface ListedPrompt {
  name: string;
  title: string;
  description: string;
  arguments: PromptArgument[];
}

/** `topic*, style, provider, …` for listings: required arguments starred. */
export function promptArgumentList(t: PromptTemplate): string {
  const args = promptArguments(t);
  return args.length ? args.map((a) => `${a.name}${a.required ? '*' : ''}`).join(', ') : '-';
}

/** The user's template folder under ATELIER_HOME. */
export function userPromptDir(home: string): string {
  return join(home, 'prompts');
}

/**
 * Built-in and user prompts for the server. The user's folder is read again on every request (unchanged files come
 * from a cache), so a new or edited template shows up without a restart; a malformed file is logged once.
 */
export function createPrompts(opts: { home: string; log: Logger }) {
  const userDir = userPromptDir(opts.home);
  const readUser = createUserTemplateReader(userDir);
  const reported = new Set<string>();

  async function catalog(): Promise<PromptCatalog> {
    const result = await loadCatalog(userDir, readUser);
    for (const p of result.problems) {
      const line = `prompt template ${p.file} skipped: ${p.message}`;
      if (!reported.has(line)) opts.log.warn(line);
      reported.add(line);
    }
    return result;
  }

  async function find(name: string): Promise<PromptTemplate | undefined> {
    return (await catalog()).prompts.find((p) => p.name === name);
  }

  return {
    async list(): Promise<ListedPrompt[]> {
      return (await catalog()).prompts.map((t) => ({
        name: t.name,
        title: t.title,
        description: t.description,
        arguments: promptArguments(t),
      }));
    },
    /** Undefined for a prompt that does not exist; throws a UserInputError naming bad arguments. */
    async get(name: string, args: Record<string, string | undefined>) {
      const t = await find(name);
      return t && { description: t.description, text: renderTemplate(t, args) };
    },
    async complete(name: string, argument: string, typed: string, context?: Record<string, string>) {
      const t = await find(name);
      return t ? completeArgument(t, argument, typed, context) : [];
    },
  };
}

export type Prompts = ReturnType<typeof createPrompts>;

export async function loadCatalog(
  userDir: string,
  readUser = createUserTemplateReader(userDir),
): Promise<PromptCatalog> {
  const user = await readUser();
  const replaced = new Map(user.templates.map((t) => [t.name, t]));
  const builtins = builtinTemplates().map((b) => replaced.get(b.name) ?? b);
  const added = user.templates.filter((t) => !builtins.includes(t));
  const replacedNames = builtinTemplates()
    .filter((b) => replaced.has(b.name))
    .map((b) => b.name);
  return { prompts: [...builtins, ...added], problems: user.problems, replaced: replacedNames, userDir };
}
