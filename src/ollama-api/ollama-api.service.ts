import { Inject, Injectable } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { BadGatewayError, InvalidRequestError } from '../common/errors';
import { OllamaConfig, ollamaConfig } from '../config/configuration';
import { Llm } from '../llm/llm';
import { callOptionsFor, type LlmForwardResponse } from '../llm/llm.types';
import type { RequestContext } from '../common/http/request-context';
import { relayAnswer } from './answer-relay';
import { LoadedContextLengths } from './loaded-context';
import { OllamaModelNotFoundError } from './ollama-api.errors';
import { readJsonAnswer } from './relayed-json';
import { formatProblem } from './request-checks';
import { contextLengthProblem, optionsProblem, requestedContextLength } from './runner-options';
import { loadedContextLengths, ModelList, servedOnly } from './served-list';

/** The `endpoint` label of these calls in the LLM metrics. */
export const OLLAMA_ENDPOINT = 'ollama';

/** Ollama's routes that run a model, relayed with the gateway's residency. */
export type InferencePath = '/api/chat' | '/api/generate' | '/api/embed' | '/api/embeddings';

/** Ollama's list routes, answered with the served models only. */
export type ListPath = '/api/tags' | '/api/ps';

function requestObject(body: unknown): Record<string, unknown> {
  if (body === undefined) {
    // Ollama's words for it.
    throw new InvalidRequestError('missing request body');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InvalidRequestError('request body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

/**
 * Ollama's own API through the gateway: every call names a served model (or none, for the server's
 * own answers), keeps the gateway's say over residency (its `keep_alive`, no runner options that
 * would reload a model), and goes through the `Llm` port, which admits, routes, retries, bounds and
 * counts it. Bodies are otherwise Ollama's, and so are the answers.
 */
@Injectable()
export class OllamaApiService {
  private readonly contextLengths = new LoadedContextLengths(() => this.readContextLengths());

  constructor(
    private readonly llm: Llm,
    @Inject(ollamaConfig.KEY) private readonly ollama: OllamaConfig,
  ) {}

  /**
   * Relays an inference call: `model` becomes the served model's configured name and `keep_alive` the
   * gateway's (OLLAMA_KEEP_ALIVE), whatever the client sent. Ollama's 4xx answers (a capability the
   * model lacks, a bad field) come back as answers.
   * @throws InvalidRequestError (400) for a body that is not an object, no `model`, or runner options
   *   that would reload the model (a `num_ctx` other than the loaded context length).
   * @throws OllamaModelNotFoundError (404) for a model that is not served; Ollama is not called.
   * @throws what `Llm.forward` throws (503, 504, 502).
   */
  async infer(path: InferencePath, body: unknown, caller: RequestContext): Promise<LlmForwardResponse> {
    const request = requestObject(body);
    const model = this.servedModel(request.model);
    await this.checkOptions(request, model);
    return this.llm.forward(
      { model, method: 'POST', path, body: { ...request, model, keep_alive: this.ollama.keepAlive.apiValue } },
      callOptionsFor(OLLAMA_ENDPOINT, caller),
    );
  }

  /**
   * Relays `/api/show` for a served model (`model`, or its deprecated alias `name`).
   * @throws InvalidRequestError (400) without a model; OllamaModelNotFoundError (404) for one not served.
   */
  async show(body: unknown, caller: RequestContext): Promise<LlmForwardResponse> {
    const request = requestObject(body);
    const requested = typeof request.model === 'string' && request.model !== '' ? request.model : request.name;
    const model = this.servedModel(requested);
    return this.llm.forward(
      { method: 'POST', path: '/api/show', body: { ...request, model } },
      callOptionsFor(OLLAMA_ENDPOINT, caller),
    );
  }

  /** Writes Ollama's `answer` to the client as it comes (`relayAnswer`), dropping a client that stalls for OLLAMA_TIMEOUT. */
  relay(reply: FastifyReply, answer: LlmForwardResponse, signal: AbortSignal): Promise<void> {
    return relayAnswer(reply, answer, signal, this.ollama.timeoutMs);
  }

  /** Relays `/api/version`: the version of the Ollama that answers. */
  version(caller: RequestContext): Promise<LlmForwardResponse> {
    return this.llm.forward({ method: 'GET', path: '/api/version' }, callOptionsFor(OLLAMA_ENDPOINT, caller));
  }

  /**
   * Ollama's `/api/tags` or `/api/ps` with only the served models in it.
   * @throws BadGatewayError (502) when Ollama's answer is not such a list; what `Llm.forward` throws.
   */
  async list(path: ListPath, caller: RequestContext): Promise<ModelList> {
    const answer = await this.llm.forward({ method: 'GET', path }, callOptionsFor(OLLAMA_ENDPOINT, caller));
    const served = servedOnly(await readJsonAnswer(answer, path), (name) => this.llm.findModel(name) !== undefined);
    if (served === undefined) {
      throw new BadGatewayError(`Ollama answered ${path} without a list of models`);
    }
    return served;
  }

  private servedModel(requested: unknown): string {
    if (requested === undefined || requested === null || requested === '') {
      throw new InvalidRequestError('model is required');
    }
    if (typeof requested !== 'string') {
      throw new InvalidRequestError('model must be a string naming a served model');
    }
    const model = this.llm.findModel(requested);
    if (model === undefined) {
      throw new OllamaModelNotFoundError(requested);
    }
    return model;
  }

  private async checkOptions(request: Record<string, unknown>, model: string): Promise<void> {
    const problem = optionsProblem(request) ?? formatProblem(request);
    if (problem !== undefined) {
      throw new InvalidRequestError(problem);
    }
    const numCtx = requestedContextLength(request);
    if (numCtx === undefined) {
      return;
    }
    const mismatch = contextLengthProblem(numCtx, model, await this.contextLengths.of(model));
    if (mismatch !== undefined) {
      throw new InvalidRequestError(mismatch);
    }
  }

  private async readContextLengths(): Promise<ReadonlyMap<string, number>> {
    const answer = await this.llm.forward({ method: 'GET', path: '/api/ps' }, { endpoint: OLLAMA_ENDPOINT });
    return loadedContextLengths(await readJsonAnswer(answer, '/api/ps'), (name) => this.llm.findModel(name));
  }
}
