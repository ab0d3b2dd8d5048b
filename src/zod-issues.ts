// The MCP SDK reports a message its zod schemas refused with the ZodError's message: the issues as multi-line JSON,
// which the log (one line per entry) would print as one long line of "\n". These say the same in a line.

interface Issue {
  path?: Array<string | number>;
  message?: string;
  code?: string;
  errors?: Issue[][];
}

/**
 * zod's issues as one readable line (`params._meta: Invalid input: expected object, received number`). Of a union's
 * alternatives, the one that came closest (fewest issues) is told.
 */
export function describeIssues(issues: unknown[]): string {
  const leaves = (list: Issue[]): Issue[] =>
    list.flatMap((issue) => {
      if (issue.code !== 'invalid_union' || !issue.errors?.length) return [issue];
      const closest = issue.errors.map((branch) => leaves(branch)).sort((a, b) => a.length - b.length)[0]!;
      return closest.map((leaf) => ({ ...leaf, path: [...(issue.path ?? []), ...(leaf.path ?? [])] }));
    });
  return leaves(issues as Issue[])
    .map((issue) => `${issue.path?.length ? `${issue.path.join('.')}: ` : ''}${issue.message ?? issue.code}`)
    .join('; ');
}

/**
 * An error of the SDK or the transport as one line: a ZodError's issues, or the issues the SDK pasted into its own
 * message (`Uncaught error in notification handler: [\n  {…`), told by describeIssues().
 */
export function readableError(error: Error): string {
  const issues = (error as { issues?: unknown }).issues;
  if (Array.isArray(issues)) return describeIssues(issues);
  const start = error.message.indexOf('[\n');
  if (start === -1) return error.message;
  try {
    const pasted: unknown = JSON.parse(error.message.slice(start));
    if (Array.isArray(pasted)) return `${error.message.slice(0, start)}${describeIssues(pasted)}`;
  } catch {
    // Not zod's JSON after all: the message as it is.
  }
  return error.message;
}
