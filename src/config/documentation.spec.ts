import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENVIRONMENT_VARIABLE_NAMES, parseEnvironment } from './environment';

const root = join(__dirname, '..', '..');
const names = [...ENVIRONMENT_VARIABLE_NAMES].sort();

function readmeTableVariables(): string[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  return [...readme.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((match) => match[1]);
}

function exampleFile(): { assigned: Record<string, string>; mentioned: string[] } {
  const text = readFileSync(join(root, 'config', '.env.example'), 'utf8');
  const assigned: Record<string, string> = {};
  const mentioned: string[] = [];
  for (const line of text.split('\n')) {
    const match = /^(#\s*)?([A-Z][A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match) {
      mentioned.push(match[2]);
      if (!match[1]) {
        assigned[match[2]] = match[3];
      }
    }
  }
  return { assigned, mentioned };
}

describe('configuration documentation', () => {
  it('knows the 31 variables of the contract', () => {
    expect(names).toHaveLength(31);
  });

  it('documents every variable in the README table, and nothing else', () => {
    expect(readmeTableVariables().sort()).toEqual(names);
  });

  it('covers every variable in config/.env.example with values that pass validation', () => {
    const { assigned, mentioned } = exampleFile();
    expect([...new Set(mentioned)].sort()).toEqual(names);
    expect(() => parseEnvironment(assigned)).not.toThrow();
  });
});
