import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

/** The repository root, whatever the working directory of the test run. */
export const ROOT = join(__dirname, '..', '..', '..');

export function repoPath(...segments: string[]): string {
  return join(ROOT, ...segments);
}

export function readRepoFile(...segments: string[]): string {
  return readFileSync(repoPath(...segments), 'utf8');
}

/** Every non-empty YAML document of a file, in order. */
export function readYamlDocuments(path: string): unknown[] {
  return parseYaml(readFileSync(path, 'utf8'));
}

/**
 * Every non-empty YAML document of a text, in order.
 * @throws Error on a syntax error, naming where it is.
 */
export function parseYaml(text: string): unknown[] {
  const documents = parseAllDocuments(text);
  const list = Array.isArray(documents) ? documents : [];
  for (const document of list) {
    if (document.errors.length > 0) {
      throw new Error(document.errors.map((error) => error.message).join('\n'));
    }
  }
  return list.map((document) => document.toJS() as unknown).filter((value) => value !== null && value !== undefined);
}

export function packageVersion(): string {
  return (JSON.parse(readRepoFile('package.json')) as { version: string }).version;
}
