/**
 * The exact source text of each member of a top-level JSON object. Providers sign bytes, not values: Alipay
 * signs the text of its `*_response` node as it sent it, so the text is taken as is, never re-serialised.
 * Undefined unless `text` is one valid JSON object with no repeated key (with a repeated key, the member that
 * was verified and the one a parser reads could differ).
 */
export function rawJsonMembers(text: string): Map<string, string> | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  // JSON.parse has vouched for the syntax, so the scan below only has to find where each member starts and ends.
  const members = new Map<string, string>();
  let i = skipSpace(text, skipSpace(text, 0) + 1);
  while (text[i] !== '}') {
    const keyEnd = endOfString(text, i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    const start = skipSpace(text, skipSpace(text, keyEnd) + 1);
    const end = endOfValue(text, start);
    if (members.has(key)) return undefined;
    members.set(key, text.slice(start, end));
    i = skipSpace(text, end);
    if (text[i] === ',') i = skipSpace(text, i + 1);
  }
  return members;
}

const SPACE = new Set([' ', '\t', '\n', '\r']);

function skipSpace(text: string, i: number): number {
  while (SPACE.has(text[i]!)) i++;
  return i;
}

/** `text[i]` opens a string; the index just past its closing quote. */
function endOfString(text: string, i: number): number {
  let j = i + 1;
  while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
  return j + 1;
}

function endOfValue(text: string, i: number): number {
  const c = text[i];
  if (c === '"') return endOfString(text, i);
  if (c !== '{' && c !== '[') {
    let j = i;
    while (j < text.length && !SPACE.has(text[j]!) && text[j] !== ',' && text[j] !== '}' && text[j] !== ']') j++;
    return j;
  }
  let depth = 0;
  let j = i;
  do {
    const d = text[j];
    if (d === '"') {
      j = endOfString(text, j);
      continue;
    }
    if (d === '{' || d === '[') depth++;
    else if (d === '}' || d === ']') depth--;
    j++;
  } while (depth > 0);
  return j;
}
