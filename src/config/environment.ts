import { plainToInstance } from 'class-transformer';
import { IsIn, IsOptional, Matches, ValidationError, validateSync } from '../common/validation/class-validator';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { normalizeModelName } from '../llm/models/model-name';
import { IsUsableApiKeyList } from '../security/api-key-policy';
import { KeepAlive, parseKeepAlive, parseSecondsOrDurationMs } from './duration';
import {
  AgreesWithUrlList,
  baseUrl,
  IsBooleanText,
  IsHttpUrl,
  IsHttpUrlList,
  IsIntegerText,
  IsKeepAlive,
  IsModelList,
  IsRedisUrl,
  IsSecondsDuration,
  MODEL_NAME,
  splitList,
  TRUE_WORDS,
} from './env-validators';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const LOG_FORMATS = ['json', 'pretty'] as const;

export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFormat = (typeof LOG_FORMATS)[number];

/** The service's environment, exactly as CONTRACT §1 names it. Every value arrives as text. */
export class EnvironmentVariables {
  @IsOptional() @IsIntegerText(0, 65535) PORT?: string;
  @IsOptional() @Matches(/^\S+$/, { message: 'must be a host name or address without spaces' }) HOST?: string;

  @IsOptional() @IsHttpUrl() @AgreesWithUrlList() OLLAMA_URL?: string;
  @IsOptional()
  @Matches(MODEL_NAME, { message: 'must be an Ollama model name such as llama3.1:latest' })
  OLLAMA_MODEL?: string;
  @IsOptional() @IsKeepAlive() OLLAMA_KEEP_ALIVE?: string;
  @IsOptional() @IsSecondsDuration(1e-3) OLLAMA_TIMEOUT?: string;
  @IsOptional() @IsIntegerText(0, 10) OLLAMA_MAX_RETRIES?: string;
  @IsOptional() @IsBooleanText() OLLAMA_AUTO_START?: string;
  @IsOptional() @IsBooleanText() OLLAMA_AUTO_PULL?: string;
  @IsOptional() @Matches(/\S/, { message: 'must name the Ollama executable' }) OLLAMA_BIN?: string;
  @IsOptional() @IsSecondsDuration(1e-3) OLLAMA_STARTUP_TIMEOUT?: string;
  @IsOptional() @IsSecondsDuration(1e-3) OLLAMA_LOAD_TIMEOUT?: string;
  @IsOptional() @IsSecondsDuration(0) OLLAMA_STOP_TIMEOUT?: string;
  @IsOptional() @Matches(/\S/, { message: 'must be a file path' }) OLLAMA_PID_FILE?: string;

  @IsOptional() @IsBooleanText() LLM_WARMUP_BLOCKING?: string;
  @IsOptional() @IsBooleanText() LLM_KEEP_WARM?: string;
  @IsOptional() @IsIntegerText(1, 1024) LLM_MAX_CONCURRENCY?: string;
  @IsOptional() @IsIntegerText(0, 100_000) LLM_MAX_QUEUE?: string;
  @IsOptional() @IsSecondsDuration(1e-3) LLM_QUEUE_TIMEOUT?: string;
  @IsOptional() @IsIntegerText(1, 1000) CIRCUIT_FAILURE_THRESHOLD?: string;
  @IsOptional() @IsSecondsDuration(1e-3) CIRCUIT_RESET_TIMEOUT?: string;

  @IsOptional() @IsSecondsDuration(0) SHUTDOWN_DRAIN_DELAY?: string;
  @IsOptional() @IsSecondsDuration(0) SHUTDOWN_GRACE_PERIOD?: string;

  @IsOptional()
  @Matches(/^\s*[^\s,]*(\s*,\s*[^\s,]*)*\s*$/, {
    message: 'must be keys separated by commas, without spaces inside keys',
  })
  @IsUsableApiKeyList()
  API_KEYS?: string;
  @IsOptional() @IsIntegerText(0, 1_000_000) RATE_LIMIT_PER_MINUTE?: string;
  @IsOptional() @IsIntegerText(1024, 1_073_741_824) BODY_LIMIT_BYTES?: string;

  @IsOptional()
  @IsIn(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(', ')}` })
  LOG_LEVEL?: string;
  @IsOptional() @IsIn(LOG_FORMATS, { message: `must be one of ${LOG_FORMATS.join(', ')}` }) LOG_FORMAT?: string;

  @IsOptional() @IsModelList() OLLAMA_MODELS?: string;
  @IsOptional() @IsHttpUrlList() OLLAMA_URLS?: string;
  @IsOptional() @IsRedisUrl() REDIS_URL?: string;
}

export interface AppSettings {
  port: number;
  host: string;
  bodyLimitBytes: number;
  shutdownDrainDelayMs: number;
  shutdownGracePeriodMs: number;
  logLevel: LogLevel;
  logFormat: LogFormat;
}

export interface OllamaSettings {
  /** Base URL of the first (or only) Ollama server, without a trailing slash. */
  url: string;
  /** Every Ollama server (OLLAMA_URLS, else OLLAMA_URL), base URLs without a trailing slash; `url` first. */
  urls: string[];
  /** The default model (OLLAMA_MODEL). */
  model: string;
  /** Every served model: `model` first, then OLLAMA_MODELS, each name once (`x` and `x:latest` are one). */
  models: string[];
  keepAlive: KeepAlive;
  timeoutMs: number;
  maxRetries: number;
  autoStart: boolean;
  autoPull: boolean;
  bin: string;
  startupTimeoutMs: number;
  loadTimeoutMs: number;
  stopTimeoutMs: number;
  pidFile: string;
  /** The pid file of each server in `urls`, in order (`pidFile` is the first's, for a single server). */
  pidFiles: string[];
}

export interface LlmSettings {
  warmupBlocking: boolean;
  keepWarm: boolean;
  maxConcurrency: number;
  maxQueue: number;
  queueTimeoutMs: number;
  circuitFailureThreshold: number;
  circuitResetTimeoutMs: number;
}

export interface SecuritySettings {
  apiKeys: string[];
  rateLimitPerMinute: number;
  /** Where rate-limit counters are shared between replicas; absent: in memory, per process. */
  redisUrl?: string;
}

export interface Configuration {
  app: AppSettings;
  ollama: OllamaSettings;
  llm: LlmSettings;
  security: SecuritySettings;
}

/** Thrown when the environment holds invalid values; its message lists every one of them. */
export class ConfigValidationError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `Invalid configuration (${problems.length} ${problems.length === 1 ? 'variable' : 'variables'}):\n` +
        problems.map((problem) => `  - ${problem}`).join('\n'),
    );
    this.name = 'ConfigValidationError';
  }
}

type Env = Record<string, string | undefined>;

function describe(errors: ValidationError[], env: Env): string[] {
  return errors
    .map((error) => {
      const messages = Object.values(error.constraints ?? {}).join('; ');
      const shown = error.property === 'API_KEYS' ? '(keys not shown)' : JSON.stringify(env[error.property]);
      return `${error.property}=${shown}: ${messages}`;
    })
    .sort();
}

/**
 * Validates the environment once and turns it into typed settings. Empty values count as unset,
 * so `PORT=` in an env file means the default.
 * @throws ConfigValidationError listing every bad variable and what is allowed.
 */
export function parseEnvironment(env: Env): Configuration {
  const present: Env = {};
  for (const key of ENVIRONMENT_VARIABLE_NAMES) {
    const value = env[key];
    if (value !== undefined && value.trim() !== '') {
      present[key] = value;
    }
  }
  const vars = plainToInstance(EnvironmentVariables, present);
  const errors = validateSync(vars, { skipMissingProperties: false });
  if (errors.length > 0) {
    throw new ConfigValidationError(describe(errors, env));
  }
  return toConfiguration(vars);
}

/** The names of the variables; the compiler keeps this list and the class above in step. */
class EnvironmentVariablesKeys implements Required<Record<keyof EnvironmentVariables, undefined>> {
  PORT = undefined;
  HOST = undefined;
  OLLAMA_URL = undefined;
  OLLAMA_MODEL = undefined;
  OLLAMA_KEEP_ALIVE = undefined;
  OLLAMA_TIMEOUT = undefined;
  OLLAMA_MAX_RETRIES = undefined;
  OLLAMA_AUTO_START = undefined;
  OLLAMA_AUTO_PULL = undefined;
  OLLAMA_BIN = undefined;
  OLLAMA_STARTUP_TIMEOUT = undefined;
  OLLAMA_LOAD_TIMEOUT = undefined;
  OLLAMA_STOP_TIMEOUT = undefined;
  OLLAMA_PID_FILE = undefined;
  LLM_WARMUP_BLOCKING = undefined;
  LLM_KEEP_WARM = undefined;
  LLM_MAX_CONCURRENCY = undefined;
  LLM_MAX_QUEUE = undefined;
  LLM_QUEUE_TIMEOUT = undefined;
  CIRCUIT_FAILURE_THRESHOLD = undefined;
  CIRCUIT_RESET_TIMEOUT = undefined;
  SHUTDOWN_DRAIN_DELAY = undefined;
  SHUTDOWN_GRACE_PERIOD = undefined;
  API_KEYS = undefined;
  RATE_LIMIT_PER_MINUTE = undefined;
  BODY_LIMIT_BYTES = undefined;
  LOG_LEVEL = undefined;
  LOG_FORMAT = undefined;
  OLLAMA_MODELS = undefined;
  OLLAMA_URLS = undefined;
  REDIS_URL = undefined;
}

/** Every variable the service reads, in contract order. */
export const ENVIRONMENT_VARIABLE_NAMES: readonly string[] = Object.keys(new EnvironmentVariablesKeys());

function int(value: string | undefined, fallback: number): number {
  return value === undefined ? fallback : Number(value.trim());
}

function bool(value: string | undefined, fallback: boolean): boolean {
  return value === undefined ? fallback : TRUE_WORDS.includes(value.trim().toLowerCase());
}

function ms(value: string | undefined, fallbackSeconds: number): number {
  return value === undefined ? fallbackSeconds * 1000 : (parseSecondsOrDurationMs(value) as number);
}

/** The served models in order, the default first; a name given twice (also as `x` and `x:latest`) counts once. */
function servedModels(defaultModel: string, more: string[]): string[] {
  const byName = new Map<string, string>();
  for (const name of [defaultModel, ...more]) {
    const normalized = normalizeModelName(name);
    if (!byName.has(normalized)) {
      byName.set(normalized, name);
    }
  }
  return [...byName.values()];
}

function portOfUrl(url: string): string {
  const parsed = new URL(url);
  return parsed.port || (parsed.protocol === 'https:' ? '443' : '80');
}

/**
 * One pid file per Ollama server, so that each local server this service starts has its own record:
 * `<os tmpdir>/ollama-manager-<port>.pid`; with OLLAMA_PID_FILE and one server, that file; with several,
 * that name with `-<port>` before its extension (`/run/ollama.pid` → `/run/ollama-11435.pid`).
 */
function pidFiles(urls: string[], given: string | undefined): string[] {
  if (given !== undefined && urls.length === 1) {
    return [given];
  }
  return urls.map((url) => {
    const port = portOfUrl(url);
    if (given === undefined) {
      return join(tmpdir(), `ollama-manager-${port}.pid`);
    }
    const extension = extname(given);
    return `${given.slice(0, given.length - extension.length)}-${port}${extension}`;
  });
}

function toConfiguration(vars: EnvironmentVariables): Configuration {
  const urls = splitList(vars.OLLAMA_URLS).map(baseUrl);
  const url = urls[0] ?? baseUrl(vars.OLLAMA_URL ?? 'http://127.0.0.1:11434');
  const model = vars.OLLAMA_MODEL?.trim() ?? 'llama3.1:latest';
  const servers = pidFiles(urls.length > 0 ? urls : [url], vars.OLLAMA_PID_FILE?.trim());
  return {
    app: {
      port: int(vars.PORT, 3000),
      host: vars.HOST?.trim() ?? '0.0.0.0',
      bodyLimitBytes: int(vars.BODY_LIMIT_BYTES, 1_048_576),
      shutdownDrainDelayMs: ms(vars.SHUTDOWN_DRAIN_DELAY, 0),
      shutdownGracePeriodMs: ms(vars.SHUTDOWN_GRACE_PERIOD, 25),
      logLevel: (vars.LOG_LEVEL ?? 'info') as LogLevel,
      logFormat: (vars.LOG_FORMAT ?? 'json') as LogFormat,
    },
    ollama: {
      url,
      urls: urls.length > 0 ? urls : [url],
      model,
      models: servedModels(model, splitList(vars.OLLAMA_MODELS)),
      keepAlive: parseKeepAlive(vars.OLLAMA_KEEP_ALIVE ?? '20m') as KeepAlive,
      timeoutMs: ms(vars.OLLAMA_TIMEOUT, 35),
      maxRetries: int(vars.OLLAMA_MAX_RETRIES, 2),
      autoStart: bool(vars.OLLAMA_AUTO_START, true),
      autoPull: bool(vars.OLLAMA_AUTO_PULL, true),
      bin: vars.OLLAMA_BIN?.trim() ?? 'ollama',
      startupTimeoutMs: ms(vars.OLLAMA_STARTUP_TIMEOUT, 30),
      loadTimeoutMs: ms(vars.OLLAMA_LOAD_TIMEOUT, 300),
      stopTimeoutMs: ms(vars.OLLAMA_STOP_TIMEOUT, 10),
      pidFile: servers[0],
      pidFiles: servers,
    },
    llm: {
      warmupBlocking: bool(vars.LLM_WARMUP_BLOCKING, false),
      keepWarm: bool(vars.LLM_KEEP_WARM, true),
      maxConcurrency: int(vars.LLM_MAX_CONCURRENCY, 4),
      maxQueue: int(vars.LLM_MAX_QUEUE, 64),
      queueTimeoutMs: ms(vars.LLM_QUEUE_TIMEOUT, 30),
      circuitFailureThreshold: int(vars.CIRCUIT_FAILURE_THRESHOLD, 5),
      circuitResetTimeoutMs: ms(vars.CIRCUIT_RESET_TIMEOUT, 10),
    },
    security: {
      apiKeys: splitList(vars.API_KEYS),
      rateLimitPerMinute: int(vars.RATE_LIMIT_PER_MINUTE, 0),
      ...(vars.REDIS_URL !== undefined && { redisUrl: vars.REDIS_URL.trim() }),
    },
  };
}
