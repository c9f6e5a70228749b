/**
 * The emulator's own HTTP API under `/__emulator/`, for tests that run it in another process (the
 * fake `ollama serve`): the same operations as the in-process methods, with JSON bodies.
 */
import { FAULT_KINDS, FaultQueue, isFault } from './faults';
import { decodeFirstJsonValue } from './go-json';
import { isRecord, readBody, sendJson, type Exchange } from './http-util';
import type { RegistryModel } from './model-registry';
import type { EmulatorOptions, EmulatorStats, Fault, RequestFilter, RequestRecord } from './types';

export const CONTROL_PREFIX = '/__emulator/';

/** What the control API operates on: the emulator's public methods. */
export interface ControlTarget {
  readonly stats: EmulatorStats;
  readonly options: Readonly<EmulatorOptions>;
  configure(partial: Partial<EmulatorOptions>): void;
  addModel(name: string, model?: RegistryModel, placement?: { local?: boolean }): void;
  injectFault(fault: Fault): void;
  clearFaults(): void;
  resetStats(): void;
  unloadAll(): void;
  residentModels(): string[];
  requests(filter?: RequestFilter): RequestRecord[];
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The options as JSON can carry them: functions are left out. */
function optionsView(options: Readonly<EmulatorOptions>): Record<string, unknown> {
  return {
    ...options,
    accessLog: undefined,
    replyText: typeof options.replyText === 'string' ? options.replyText : undefined,
    toolCalls: typeof options.toolCalls === 'function' ? undefined : options.toolCalls,
  };
}

/**
 * `GET stats`, `GET requests?endpoint=&model=`, `POST configure` (options), `POST models`
 * (`{name, local?, ...RegistryModel}`), `POST faults` (a fault), `DELETE faults`, `POST reset-stats`,
 * `POST unload-all`. Errors are 400 `{error}`; an unknown action is 404.
 */
export async function handleControl(target: ControlTarget, faults: FaultQueue, ex: Exchange): Promise<void> {
  const [action = '', query = ''] = (ex.req.url ?? '').slice(CONTROL_PREFIX.length).split('?');
  const key = `${ex.method} ${action}`;
  ex.body = await readBody(ex.req);
  let body: unknown;
  if (ex.body.length > 0) {
    try {
      body = decodeFirstJsonValue(ex.body);
    } catch (err) {
      sendJson(ex.res, 400, { error: errorText(err) });
      return;
    }
  }
  const attempt = (run: () => unknown): void => {
    try {
      sendJson(ex.res, 200, run());
    } catch (err) {
      sendJson(ex.res, 400, { error: errorText(err) });
    }
  };
  switch (key) {
    case 'GET stats':
      sendJson(ex.res, 200, target.stats);
      return;
    case 'GET requests': {
      const params = new URLSearchParams(query);
      const filter = { endpoint: params.get('endpoint') ?? undefined, model: params.get('model') ?? undefined };
      sendJson(ex.res, 200, { requests: target.requests(filter as RequestFilter) });
      return;
    }
    case 'POST configure':
      if (!isRecord(body)) {
        sendJson(ex.res, 400, { error: 'expected a JSON object of options' });
        return;
      }
      attempt(() => {
        target.configure(body);
        return optionsView(target.options);
      });
      return;
    case 'POST models':
      if (!isRecord(body) || typeof body['name'] !== 'string') {
        sendJson(ex.res, 400, { error: 'expected {"name": "<model>", ...registry fields}' });
        return;
      }
      attempt(() => {
        const { name, local, ...model } = body as unknown as { name: string; local?: boolean } & RegistryModel;
        target.addModel(name, model, { local: local !== false });
        return { models: target.options.models };
      });
      return;
    case 'POST faults':
      if (!isFault(body)) {
        sendJson(ex.res, 400, { error: `expected a fault with kind one of ${FAULT_KINDS.join(', ')}` });
        return;
      }
      target.injectFault(body);
      sendJson(ex.res, 200, { faults: faults.size });
      return;
    case 'DELETE faults':
      target.clearFaults();
      sendJson(ex.res, 200, { faults: 0 });
      return;
    case 'POST reset-stats':
      target.resetStats();
      sendJson(ex.res, 200, target.stats);
      return;
    case 'POST unload-all':
      target.unloadAll();
      sendJson(ex.res, 200, { resident: target.residentModels() });
      return;
    default:
      sendJson(ex.res, 404, { error: `unknown emulator control ${key}` });
  }
}
