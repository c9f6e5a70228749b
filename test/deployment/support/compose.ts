import { parseYaml } from './repository';

export interface ComposeService {
  build?: string | { context: string; dockerfile?: string };
  image?: string;
  ports?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  volumes?: string[];
  stop_grace_period?: string;
  read_only?: boolean;
  tmpfs?: string[];
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/**
 * Compose's variable interpolation (`${VAR}`, `${VAR:-default}`, `${VAR-default}`, `$$`) over every string
 * of the file, with `env` as the shell environment.
 */
export function interpolate(value: unknown, env: Record<string, string | undefined>): unknown {
  if (typeof value === 'string') {
    return value.replace(
      /\$\$|\$\{(\w+)(?:(:?-)([^}]*))?\}/g,
      (whole, name?: string, operator?: string, fallback?: string) => {
        if (whole === '$$') {
          return '$';
        }
        const current = env[name ?? ''];
        const useFallback = operator === ':-' ? current === undefined || current === '' : current === undefined;
        return operator !== undefined && useFallback ? (fallback ?? '') : (current ?? '');
      },
    );
  }
  if (Array.isArray(value)) {
    return value.map((item) => interpolate(item, env));
  }
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, interpolate(item, env)]));
  }
  return value;
}

/** The compose file as `docker compose config` would see it with none of its variables set. */
export function parseCompose(text: string, env: Record<string, string | undefined> = {}): ComposeFile {
  return interpolate(parseYaml(text)[0], env) as ComposeFile;
}
