/** Longest raw value an error quotes: enough to find a job or a price by it, too short to carry a page of text. */
const MAX_RAW = 200;

/**
 * A value a provider sent where it should not have (an id as an object, a price as a string), as JSON on one
 * line and capped: an error can then quote it without losing it or printing "[object Object]".
 */
export function rawJson(value: unknown, max = MAX_RAW): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? 'nothing';
  } catch {
    // Parsed JSON always serialises; this is for a value that did not come from a body.
    text = `a ${typeof value} that has no JSON form`;
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
