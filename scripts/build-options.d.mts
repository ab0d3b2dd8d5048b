import type { BuildOptions } from 'esbuild';

export const root: string;
export function buildOptions(outdir?: string): BuildOptions;
