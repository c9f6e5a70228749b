/** What the fake model says, and how it is cut into streamed tokens. */

/** Word-ish pieces with their leading whitespace, so joining the chunks gives back the text. */
export function tokenize(text: string): string[] {
  return text.match(/\s*\S{1,8}|\s+$/gu) ?? [];
}

/** Rough prompt token count: word pieces plus the chat template's per-message overhead. */
export function countPromptTokens(parts: readonly string[], perPartOverhead: number): number {
  const words = parts.reduce((sum, part) => sum + tokenize(part).length, 0);
  return Math.max(1, words + perPartOverhead * parts.length + 1);
}

const SNIPPET_LENGTH = 60;

/** A deterministic reply that quotes the start of the user's last message and counts its images. */
export function defaultReplyText(lastUserText: string, images = 0): string {
  const seen = images === 0 ? '' : ` I can see ${images} ${images === 1 ? 'image' : 'images'}.`;
  const snippet = lastUserText.replace(/\s+/g, ' ').trim().slice(0, SNIPPET_LENGTH).trim();
  if (snippet === '') {
    return `Hello!${seen} I am a local model served by the Ollama emulator. How can I help you today?`;
  }
  const sentence = /[.!?]$/.test(snippet) ? snippet : `${snippet}.`;
  return `Echo: ${sentence}${seen} This is a deterministic reply from the Ollama emulator.`;
}

/** Text that a model ignoring its schema might produce: prose around truncated JSON. */
export const INVALID_STRUCTURED_TEXT = 'Sure! Here is the JSON you asked for: {"result": "incomplete", "items": [1, 2';
