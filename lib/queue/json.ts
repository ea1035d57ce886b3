/**
 * How deep JSON may nest, in payloads and request bodies. Postgres parses jsonb recursively and
 * JSON.stringify recurses too: a body nested thousands of levels deep must be refused up front,
 * not fail inside a statement or blow the stack. Real payloads stay far below this.
 */
export const MAX_JSON_DEPTH = 64;

/** Whether JSON text nests objects/arrays deeper than `max`. One pass, no recursion, no parse. */
export function jsonDepthExceeds(text: string, max: number): boolean {
  // Nesting deeper than `max` takes more than `max` opening and as many closing brackets: most
  // payloads are shorter than that, and cost nothing here.
  if (text.length <= 2 * max + 1) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > max) return true;
    } else if (c === 125 || c === 93) depth--;
  }
  return false;
}

// In JSON text: a \u0000 escape, or the escape of an unpaired surrogate (JSON.stringify writes paired
// ones as characters), not itself preceded by an escaped backslash.
const UNSTORABLE = /(?<!\\)(?:\\\\)*\\u(?:0000|d[89a-f][0-9a-f]{2})/i;

/** Whether JSON text holds what jsonb cannot store: a NUL character or a lone UTF-16 surrogate. */
export function jsonUnstorable(text: string): boolean {
  // JSON.stringify writes "\u" only to escape control characters and lone surrogates (or after an
  // escaped backslash): text without it needs no regex.
  return text.includes('\\u') && UNSTORABLE.test(text);
}
