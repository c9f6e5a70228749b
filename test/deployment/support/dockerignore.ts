/**
 * `.dockerignore` as Docker reads it: patterns in order, `!` re-includes, the last pattern that matches a
 * path or one of its parent directories decides, `**` spans directories, `*` and `?` stay within one.
 */
export class DockerIgnore {
  private readonly rules: { exclude: boolean; pattern: RegExp }[];

  constructor(text: string) {
    this.rules = text
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'))
      .map((line) => {
        const exclude = !line.startsWith('!');
        const glob = (exclude ? line : line.slice(1)).replace(/^\/+|\/+$/g, '');
        return { exclude, pattern: DockerIgnore.toRegExp(glob) };
      });
  }

  private static toRegExp(glob: string): RegExp {
    let source = '';
    for (let i = 0; i < glob.length; i++) {
      const char = glob[i];
      if (char === '*' && glob[i + 1] === '*' && glob[i + 2] === '/') {
        source += '(?:.*/)?';
        i += 2;
      } else if (char === '*' && glob[i + 1] === '*') {
        source += '.*';
        i += 1;
      } else if (char === '*') {
        source += '[^/]*';
      } else if (char === '?') {
        source += '[^/]';
      } else {
        source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
      }
    }
    return new RegExp(`^${source}$`);
  }

  /** Whether `path` (relative to the build context, `/`-separated) is left out of the context. */
  excludes(path: string): boolean {
    const segments = path.split('/');
    const candidates = segments.map((_, index) => segments.slice(0, index + 1).join('/'));
    let excluded = false;
    for (const rule of this.rules) {
      if (candidates.some((candidate) => rule.pattern.test(candidate))) {
        excluded = rule.exclude;
      }
    }
    return excluded;
  }
}
