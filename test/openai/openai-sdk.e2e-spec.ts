import OpenAI from 'openai';
import { ChatCompletionsController } from '../../src/openai/chat-completions.controller';
import { Gateway, MODEL, eventually, startGateway, useOpenAiGateway } from './gateway';
import { abortAfterFirstText, rejectionOf } from './models-gateway';

const API_KEY = 'openai-sdk-key-0123456789';
const QUESTION = 'What is duration risk?';
/** What the emulator answers to QUESTION: it echoes the start of the last user message. */
const ECHO = `Echo: ${QUESTION} This is a deterministic reply from the Ollama emulator.`;
const LONG_REPLY = Array.from({ length: 200 }, (_, index) => `word${index}`).join(' ');

function clientFor(gateway: Gateway, apiKey = API_KEY): OpenAI {
  // No retries: each test sees exactly the answer the gateway gave.
  return new OpenAI({ apiKey, baseURL: `${gateway.url}/v1`, maxRetries: 0, timeout: 30_000 });
}

/** The bodies of the native chat requests the gateway sent to Ollama. */
function upstreamChatBodies(gateway: Gateway): Array<Record<string, unknown>> {
  return gateway.emulator.stats.lastRequests
    .filter((request) => request.endpoint === 'chat')
    .map((request) => request.body as Record<string, unknown>);
}

describe(`${ChatCompletionsController.name} with the official openai client`, () => {
  const h = useOpenAiGateway(
    () => startGateway({ API_KEYS: API_KEY }),
    (gateway) => clientFor(gateway),
  );

  it('answers a chat completion with OpenAI’s object, through the served model', async () => {
    const completion = await h.client.chat.completions.create({
      model: MODEL,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: QUESTION },
      ],
      temperature: 0.2,
      max_tokens: 200,
      seed: 7,
      user: 'analyst-7',
    });
    expect(completion).toMatchObject({
      id: expect.stringMatching(/^chatcmpl-\w+$/),
      object: 'chat.completion',
      model: MODEL,
      system_fingerprint: expect.stringMatching(/^fp_/),
      choices: [{ index: 0, message: { role: 'assistant', content: ECHO }, finish_reason: 'stop', logprobs: null }],
    });
    expect(Math.abs(completion.created - Date.now() / 1000)).toBeLessThan(60);
    const usage = completion.usage;
    expect(usage?.completion_tokens).toBeGreaterThan(0);
    expect(usage?.prompt_tokens).toBeGreaterThan(0);
    expect(usage?.total_tokens).toBe((usage?.prompt_tokens ?? 0) + (usage?.completion_tokens ?? 0));
    expect(upstreamChatBodies(h.gateway).at(-1)).toMatchObject({
      model: MODEL,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: QUESTION },
      ],
      options: { temperature: 0.2, num_predict: 200, seed: 7 },
    });
  });

  it('echoes the alias the client used and reports a reply cut by max_tokens as length', async () => {
    const completion = await h.client.chat.completions.create({
      model: 'llama3.1',
      messages: [{ role: 'user', content: QUESTION }],
      max_completion_tokens: 2,
    });
    expect(completion.model).toBe('llama3.1');
    expect(completion.choices[0].finish_reason).toBe('length');
  });

  it('streams the same content in chunks that share one id, ending with usage when asked', async () => {
    const whole = await h.client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: QUESTION }],
    });
    const stream = await h.client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: QUESTION }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) {
      chunks.push(chunk);
    }
    const content = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('');
    expect(content).toBe(whole.choices[0].message.content);
    expect(chunks.length).toBeGreaterThan(3);
    expect(new Set(chunks.map((chunk) => chunk.id)).size).toBe(1);
    expect(new Set(chunks.map((chunk) => chunk.created)).size).toBe(1);
    expect(chunks.every((chunk) => chunk.object === 'chat.completion.chunk' && chunk.model === MODEL)).toBe(true);
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage).toEqual(whole.usage);
    expect(chunks.at(-2)?.choices[0]).toMatchObject({ delta: {}, finish_reason: 'stop' });
  });

  it('streams without a usage chunk when none is asked for', async () => {
    const stream = await h.client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: QUESTION }],
      stream: true,
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) {
      chunks.push(chunk);
    }
    expect(chunks.at(-1)?.choices[0].finish_reason).toBe('stop');
    expect(chunks.some((chunk) => chunk.usage !== undefined && chunk.usage !== null)).toBe(false);
  });

  it('answers JSON mode with content that parses as JSON', async () => {
    h.gateway.emulator.configure({ structuredReply: { answer: 'duration', confidence: 0.8 } });
    const completion = await h.client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'Answer in JSON.' }],
      response_format: { type: 'json_object' },
    });
    expect(JSON.parse(completion.choices[0].message.content ?? '')).toEqual({ answer: 'duration', confidence: 0.8 });
    expect(upstreamChatBodies(h.gateway).at(-1)?.format).toBe('json');
  });

  it('answers a json_schema request with content that conforms to the schema', async () => {
    const schema = {
      type: 'object',
      properties: {
        riskLevel: { type: 'string', enum: ['low', 'medium', 'high'] },
        score: { type: 'integer', minimum: 0, maximum: 100 },
      },
      required: ['riskLevel', 'score'],
      additionalProperties: false,
    };
    const completion = await h.client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'Assess the risk.' }],
      response_format: { type: 'json_schema', json_schema: { name: 'assessment', strict: true, schema } },
    });
    const answer = JSON.parse(completion.choices[0].message.content ?? '') as Record<string, unknown>;
    expect(Object.keys(answer).sort()).toEqual(['riskLevel', 'score']);
    expect(['low', 'medium', 'high']).toContain(answer.riskLevel);
    expect(Number.isInteger(answer.score)).toBe(true);
    expect(answer.score).toBeGreaterThanOrEqual(0);
    expect(answer.score).toBeLessThanOrEqual(100);
    expect(upstreamChatBodies(h.gateway).at(-1)?.format).toEqual(schema);
  });

  it('refuses a wrong API key with AuthenticationError 401 and WWW-Authenticate', async () => {
    const error = await rejectionOf(
      clientFor(h.gateway, 'wrong-key').chat.completions.create({
        model: MODEL,
        messages: [{ role: 'user', content: 'Hi' }],
      }),
    );
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    const refusal = error as InstanceType<typeof OpenAI.AuthenticationError>;
    expect(refusal.status).toBe(401);
    expect(refusal.code).toBe('invalid_api_key');
    expect(refusal.type).toBe('invalid_request_error');
    expect(refusal.headers.get('www-authenticate')).toMatch(/^Bearer /);
  });

  it('refuses another model with NotFoundError model_not_found, without calling Ollama', async () => {
    const chatsBefore = h.gateway.emulator.stats.requests.chat ?? 0;
    const error = await rejectionOf(
      h.client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] }),
    );
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    const refusal = error as InstanceType<typeof OpenAI.NotFoundError>;
    expect(refusal.status).toBe(404);
    expect(refusal.error).toEqual({
      message: "The model 'gpt-4o' does not exist or you do not have access to it.",
      type: 'invalid_request_error',
      param: 'model',
      code: 'model_not_found',
    });
    expect(h.gateway.emulator.stats.requests.chat ?? 0).toBe(chatsBefore);
  });

  it('refuses a tool whose parameters are not an object schema with BadRequestError naming the parameter', async () => {
    const error = await rejectionOf(
      h.client.chat.completions.create({
        model: MODEL,
        messages: [{ role: 'user', content: 'Weather?' }],
        tools: [{ type: 'function', function: { name: 'weather', parameters: { type: 'string' } } }],
      }),
    );
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error).toMatchObject({ status: 400, param: 'tools[0].function.parameters', type: 'invalid_request_error' });
  });

  it('refuses n > 1 and remote image URLs with BadRequestError naming the field', async () => {
    await expect(
      h.client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }], n: 2 }),
    ).rejects.toMatchObject({ status: 400, param: 'n' });
    await expect(
      h.client.chat.completions.create({
        model: MODEL,
        messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/a.png' } }] }],
      }),
    ).rejects.toMatchObject({ status: 400, param: 'messages[0].content[0].image_url.url' });
  });

  it('lists the served model', async () => {
    const models: OpenAI.Model[] = [];
    for await (const model of h.client.models.list()) {
      models.push(model);
    }
    expect(models).toEqual([
      { id: MODEL, object: 'model', created: expect.any(Number), owned_by: 'local-llm-gateway' },
    ]);
    expect(Math.abs(models[0].created - Date.now() / 1000)).toBeLessThan(3600);
  });

  it('retrieves the served model by its alias, and refuses others with NotFoundError', async () => {
    expect(await h.client.models.retrieve('llama3.1')).toMatchObject({ id: MODEL, object: 'model' });
    await expect(h.client.models.retrieve('gpt-4o')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('stops the generation upstream when the client aborts a stream', async () => {
    h.gateway.emulator.configure({ tokenDelayMs: 100, replyText: LONG_REPLY });
    h.gateway.emulator.resetStats();
    const controller = new AbortController();
    const stream = await h.client.chat.completions.create(
      { model: MODEL, messages: [{ role: 'user', content: 'Talk a lot.' }], stream: true },
      { signal: controller.signal },
    );
    const received = await abortAfterFirstText(stream, controller);
    expect(received.length).toBeGreaterThan(0);
    expect(received.length).toBeLessThan(LONG_REPLY.length);
    await eventually('Ollama to see the stream aborted', () => h.gateway.emulator.stats.abortedStreams === 1, 10_000);
    expect(h.gateway.emulator.stats.inFlight).toBe(0);
  });

  it('stops the generation upstream when the client aborts a non-streamed completion', async () => {
    h.gateway.emulator.configure({ tokenDelayMs: 100, replyText: LONG_REPLY });
    h.gateway.emulator.resetStats();
    const controller = new AbortController();
    const pending = h.client.chat.completions.create(
      { model: MODEL, messages: [{ role: 'user', content: 'Talk a lot.' }] },
      { signal: controller.signal },
    );
    await eventually('Ollama to be generating', () => h.gateway.emulator.stats.inFlight === 1, 10_000);
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(OpenAI.APIUserAbortError);
    await eventually('Ollama to see the request aborted', () => h.gateway.emulator.stats.abortedStreams === 1, 10_000);
  });

  it('ends a stream that fails midway with an error the client raises', async () => {
    h.gateway.emulator.injectFault({ kind: 'mid-stream-error', afterChunks: 2, times: 1 });
    const stream = await h.client.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: QUESTION }],
      stream: true,
    });
    let received = '';
    const error = await rejectionOf(
      (async () => {
        for await (const chunk of stream) {
          received += chunk.choices[0]?.delta.content ?? '';
        }
      })(),
    );
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(error).toMatchObject({ type: 'server_error', code: 'upstream_error' });
    expect((error as Error).message).toMatch(/incomplete/);
    expect(received.length).toBeGreaterThan(0);
    expect(received).not.toBe(ECHO);
  });

  it('answers an Ollama failure before the first byte with 502 and no upstream text', async () => {
    h.gateway.emulator.injectFault({ kind: 'http-error', status: 500 });
    for (const stream of [false, true]) {
      const error = await rejectionOf(
        h.client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }], stream }),
      );
      expect(error).toBeInstanceOf(OpenAI.InternalServerError);
      const failure = error as InstanceType<typeof OpenAI.InternalServerError>;
      expect(failure.status).toBe(502);
      expect(failure.type).toBe('server_error');
      expect(failure.message).not.toMatch(/llama-server|exit status/);
    }
  });

  it('answers a busy Ollama with 503 and Retry-After', async () => {
    h.gateway.emulator.injectFault({ kind: 'busy' });
    const error = await rejectionOf(
      h.client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }] }),
    );
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    const refusal = error as InstanceType<typeof OpenAI.InternalServerError>;
    expect(refusal.status).toBe(503);
    expect(refusal.type).toBe('server_error');
    expect(refusal.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
  });

  it('records the model calls under the openai endpoint label', async () => {
    await h.client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Hi' }] });
    // The key is harmless where /metrics is open, and needed where it is not.
    const metrics = await (
      await fetch(`${h.gateway.url}/metrics`, { headers: { authorization: `Bearer ${API_KEY}` } })
    ).text();
    expect(metrics).toMatch(
      /llm_request_duration_seconds_count\{endpoint="openai",outcome="success",backend="[^"]+"\} [1-9]/,
    );
    expect(metrics).toMatch(
      /http_request_duration_seconds_count\{method="POST",route="\/v1\/chat\/completions",status_code="200"\} [1-9]/,
    );
  });
});
