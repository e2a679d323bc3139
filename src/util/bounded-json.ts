/**
 * JSON.parse with limits checked first, for text from clients and files: its size, and how deeply
 * arrays and objects nest. `JSON.parse` itself copes with deep nesting, but whatever walks the
 * result recursively afterwards (a schema validator, JSON.stringify of an echoed field) overflows
 * the stack: the depth is refused before any of that, by one linear scan without recursion.
 */
export interface JsonLimits {
  /** Longest text accepted, in UTF-16 code units (characters). */
  readonly maxLength: number;
  /** Deepest nesting of arrays and objects accepted (a flat object is depth 1). */
  readonly maxDepth: number;
}

export class JsonLimitError extends Error {
  override name = 'JsonLimitError';
}

/** Parses `text`; throws JsonLimitError naming the limit and the character where it was passed, or SyntaxError. */
export function parseBoundedJson(text: string, limits: JsonLimits): unknown {
  if (text.length > limits.maxLength) throw new JsonLimitError(`${text.length} characters is more than the ${limits.maxLength} accepted`);
  checkDepth(text, limits.maxDepth);
  return JSON.parse(text);
}

function checkDepth(text: string, maxDepth: number): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth) throw new JsonLimitError(`nesting deeper than ${maxDepth} levels at character ${i}`);
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
}
