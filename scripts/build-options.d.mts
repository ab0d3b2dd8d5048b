import type { BuildOptions } from 'esbuild';

export const root: string;
export function buildOptions(outdir?: string, toolList?: unknown): BuildOptions;
export function buildToolList(work: string): Promise<unknown>;
