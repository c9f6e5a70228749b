import { parseYaml } from './repository';

export interface ComposeService {
  build?: string | { context: string; dockerfile?: string };
  image?: string;
  extends?: string | { service: string; file?: string };
  profiles?: string[];
  ports?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string; required?: boolean }>;
  healthcheck?: { test: string[] };
  volumes?: string[];
  stop_grace_period?: string;
  read_only?: boolean;
  tmpfs?: string[];
  cap_drop?: string[];
  security_opt?: string[];
  deploy?: {
    resources?: {
      reservations?: { devices?: { driver?: string; count?: number | string; capabilities?: string[] }[] };
    };
  };
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

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Compose's merge for `extends`: mappings merge key by key, sequences keep the base's items and add the new ones. */
function merge(base: unknown, local: unknown): unknown {
  if (isMapping(base) && isMapping(local)) {
    const merged: Record<string, unknown> = { ...base };
    for (const [key, value] of Object.entries(local)) {
      merged[key] = key in base ? merge(base[key], value) : value;
    }
    return merged;
  }
  if (Array.isArray(base) && Array.isArray(local)) {
    return [
      ...base,
      ...local.filter((item) => !base.some((existing) => JSON.stringify(existing) === JSON.stringify(item))),
    ];
  }
  return local;
}

/**
 * A service with `extends` of another service of the same file resolved, as Compose does it.
 * @throws Error for `extends` of another file, which these files do not use.
 */
function resolveService(services: Record<string, ComposeService>, name: string, seen: string[] = []): ComposeService {
  const service = services[name];
  if (!service) {
    throw new Error(`no service ${name}`);
  }
  if (service.extends === undefined) {
    return service;
  }
  const parent = typeof service.extends === 'string' ? { service: service.extends } : service.extends;
  if (parent.file !== undefined) {
    throw new Error(`${name} extends a service of ${parent.file}; only the same file is implemented`);
  }
  if (seen.includes(parent.service)) {
    throw new Error(`${name}: extends loops through ${seen.join(', ')}`);
  }
  const local: ComposeService = { ...service };
  delete local.extends;
  return merge(resolveService(services, parent.service, [...seen, name]), local) as ComposeService;
}

/** The compose file as `docker compose config` would see it with these variables set (none by default). */
export function parseCompose(text: string, env: Record<string, string | undefined> = {}): ComposeFile {
  const file = interpolate(parseYaml(text)[0], env) as ComposeFile;
  const services = Object.fromEntries(
    Object.keys(file.services).map((name) => [name, resolveService(file.services, name)]),
  );
  return { ...file, services };
}

/** The services that run without a profile: what `docker compose up` starts. */
export function alwaysEnabled(compose: ComposeFile): string[] {
  return Object.keys(compose.services).filter((name) => (compose.services[name].profiles ?? []).length === 0);
}
