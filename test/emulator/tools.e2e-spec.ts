import { postJson } from '../support/http';
import { OllamaEmulator, type ReplyRequest } from './ollama-emulator';
import { parseNdjson, schemaViolations, type Json } from './test-helpers';

jest.setTimeout(30_000);

const WEATHER_PARAMETERS = {
  type: 'object',
  required: ['city', 'unit'],
  properties: {
    city: { type: 'string', description: 'The city' },
    unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
    days: { type: 'integer', minimum: 1, maximum: 7 },
    location: {
      type: 'object',
      required: ['lat', 'lon'],
      properties: { lat: { type: 'number' }, lon: { type: 'number' } },
    },
    tags: { type: 'array', items: { type: 'string' }, minItems: 2 },
  },
};
const TIME_PARAMETERS = { type: 'object', required: ['zone'], properties: { zone: { type: 'string' } } };

const TOOLS = [
  { type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: WEATHER_PARAMETERS } },
  { type: 'function', function: { name: 'get_time', description: 'Time', parameters: TIME_PARAMETERS } },
];

interface ToolCall {
  id: string;
  function: { index: number; name: string; arguments: Record<string, unknown> };
}

function toolCallsOf(chunk: Json | undefined): ToolCall[] {
  return ((chunk?.['message'] as Json | undefined)?.['tool_calls'] ?? []) as ToolCall[];
}

describe('OllamaEmulator tool calls', () => {
  let emulator: OllamaEmulator;

  async function chat(body: Json): Promise<Json[]> {
    const res = await postJson(`${emulator.url}/api/chat`, { model: 'llama3.1', tools: TOOLS, ...body });
    expect(res.status).toBe(200);
    return parseNdjson(await res.text());
  }

  async function chatOnce(body: Json): Promise<Json> {
    const res = await postJson(`${emulator.url}/api/chat`, { model: 'llama3.1', tools: TOOLS, ...body, stream: false });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    return (await res.json()) as Json;
  }

  beforeEach(async () => {
    emulator = new OllamaEmulator({ models: ['llama3.1:latest', 'qwen2.5:7b'] });
    await emulator.start(0);
  });

  afterEach(async () => {
    await emulator.stop();
  });

  it('streams every call in one chunk with empty content, then the final done chunk', async () => {
    const chunks = await chat({ messages: [{ role: 'user', content: 'Weather in Paris?' }] });
    expect(chunks).toHaveLength(2);
    const [calls, final] = chunks;
    expect(calls).toMatchObject({ model: 'llama3.1', done: false, message: { role: 'assistant', content: '' } });
    expect(Object.keys((calls?.['message'] as Json) ?? {})).toEqual(['role', 'content', 'tool_calls']);
    const [call] = toolCallsOf(calls);
    expect(toolCallsOf(calls)).toHaveLength(1);
    expect(call?.id).toMatch(/^call_[a-z0-9]{8}$/);
    expect(Object.keys(call?.function ?? {})).toEqual(['index', 'name', 'arguments']);
    expect(call?.function).toMatchObject({ index: 0, name: 'get_weather' });
    expect(final).toMatchObject({
      done: true,
      done_reason: 'stop',
      message: { role: 'assistant', content: '' },
    });
    expect(final?.['message']).not.toHaveProperty('tool_calls');
    expect(final?.['eval_count']).toBeGreaterThan(0);
  });

  it('generates arguments that satisfy the tool parameters schema', async () => {
    const [call] = toolCallsOf(await chatOnce({ messages: [{ role: 'user', content: 'Weather?' }] }));
    const args = call?.function.arguments;
    expect(schemaViolations(args, WEATHER_PARAMETERS)).toEqual([]);
    expect(args).toMatchObject({ city: expect.any(String), unit: 'celsius', location: { lat: expect.any(Number) } });
    expect((args?.['tags'] as unknown[]).length).toBeGreaterThanOrEqual(2);
  });

  it('answers a non-streamed request with one object carrying the calls', async () => {
    const reply = await chatOnce({ messages: [{ role: 'user', content: 'Weather?' }] });
    expect(reply).toMatchObject({
      done: true,
      done_reason: 'stop',
      message: { role: 'assistant', content: '', tool_calls: [{ function: { index: 0, name: 'get_weather' } }] },
    });
    expect(reply['total_duration']).toEqual(expect.any(Number));
  });

  it('calls every tool at once in one chunk with `all`, indexed in order, each with fresh ids', async () => {
    emulator.configure({ toolCalls: 'all' });
    const [calls] = await chat({ messages: [{ role: 'user', content: 'Weather and time?' }] });
    const made = toolCallsOf(calls);
    expect(made.map((c) => [c.function.index, c.function.name])).toEqual([
      [0, 'get_weather'],
      [1, 'get_time'],
    ]);
    expect(new Set(made.map((c) => c.id)).size).toBe(2);
    expect(schemaViolations(made[1]?.function.arguments, TIME_PARAMETERS)).toEqual([]);
  });

  it('is steered per request by a directive in the user message', async () => {
    const named = await chatOnce({ messages: [{ role: 'user', content: 'What time is it? [[tools: get_time]]' }] });
    expect(toolCallsOf(named).map((c) => c.function.name)).toEqual(['get_time']);
    const both = await chatOnce({ messages: [{ role: 'user', content: '[[tools: get_time, get_weather]]' }] });
    expect(toolCallsOf(both).map((c) => c.function.name)).toEqual(['get_time', 'get_weather']);
    const none = await chatOnce({ messages: [{ role: 'user', content: 'Just talk. [[tools: none]]' }] });
    expect(none['message']).toEqual({ role: 'assistant', content: expect.stringContaining('Echo: Just talk.') });
  });

  it('answers with text when told `none`, and makes scripted calls with scripted arguments', async () => {
    emulator.configure({ toolCalls: 'none' });
    const text = await chatOnce({ messages: [{ role: 'user', content: 'Hello' }] });
    expect(text['message']).not.toHaveProperty('tool_calls');
    expect((text['message'] as Json)['content']).toContain('Hello');

    emulator.configure({
      toolCalls: { calls: [{ name: 'get_weather', arguments: { city: 'Oslo', unit: 'celsius' } }] },
    });
    const scripted = await chatOnce({ messages: [{ role: 'user', content: 'Hello' }] });
    expect(toolCallsOf(scripted)[0]?.function.arguments).toEqual({ city: 'Oslo', unit: 'celsius' });
  });

  it('asks a toolCalls function per request, so tests can steer per model', async () => {
    const seen: ReplyRequest[] = [];
    emulator.configure({
      toolCalls: (request) => {
        seen.push(request);
        return request.model.startsWith('qwen') ? 'none' : 'all';
      },
    });
    expect(toolCallsOf(await chatOnce({ messages: [{ role: 'user', content: 'x' }] }))).toHaveLength(2);
    const qwen = await chatOnce({ model: 'qwen2.5:7b', messages: [{ role: 'user', content: 'x' }] });
    expect(qwen['message']).not.toHaveProperty('tool_calls');
    expect(seen.map((r) => r.tools.map((t) => t.name))).toEqual([
      ['get_weather', 'get_time'],
      ['get_weather', 'get_time'],
    ]);
    expect(seen[0]?.tools[0]?.parameters).toEqual(WEATHER_PARAMETERS);
  });

  it('answers a tool result with text that quotes it, naming the tool', async () => {
    const history = [
      { role: 'user', content: 'Weather in Paris?' },
      {
        role: 'assistant',
        content: '',
        tool_calls: [
          { id: 'call_aaaa1111', function: { index: 0, name: 'get_weather', arguments: { city: 'Paris' } } },
          { id: 'call_bbbb2222', function: { index: 1, name: 'get_time', arguments: { zone: 'CET' } } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_bbbb2222', content: '14:05' },
      { role: 'tool', tool_name: 'get_weather', content: '{"temperature": 21, "sky": "clear"}' },
    ];
    const chunks = await chat({ messages: history });
    const text = chunks.map((c) => (c['message'] as Json)['content']).join('');
    expect(text).toBe(
      'Based on the tool results: get_time returned 14:05; get_weather returned {"temperature": 21, "sky": "clear"}.',
    );
    expect(chunks.some((c) => toolCallsOf(c).length > 0)).toBe(false);
    expect(chunks.at(-1)).toMatchObject({ done: true, done_reason: 'stop' });
  });

  it('calls tools again once the user speaks after a tool result', async () => {
    const reply = await chatOnce({
      messages: [
        { role: 'user', content: 'Weather?' },
        { role: 'assistant', content: '', tool_calls: [{ function: { name: 'get_weather', arguments: {} } }] },
        { role: 'tool', content: 'sunny' },
        { role: 'user', content: 'And the time? [[tools: get_time]]' },
      ],
    });
    expect(toolCallsOf(reply).map((c) => c.function.name)).toEqual(['get_time']);
  });

  it('answers with JSON content and no call when format constrains the output', async () => {
    const schema = { type: 'object', required: ['answer'], properties: { answer: { type: 'string' } } };
    const reply = await chatOnce({ format: schema, messages: [{ role: 'user', content: 'Weather?' }] });
    expect(reply['message']).not.toHaveProperty('tool_calls');
    expect(schemaViolations(JSON.parse(String((reply['message'] as Json)['content'])), schema)).toEqual([]);
  });

  it('applies streaming faults to the tool-call chunk', async () => {
    emulator.injectFault({ kind: 'mid-stream-error', afterChunks: 0, message: 'runner crashed', times: 1 });
    expect(await chat({ messages: [{ role: 'user', content: 'Weather?' }] })).toEqual([{ error: 'runner crashed' }]);
  });

  it('refuses malformed tools and tool modes with the errors a test can act on', async () => {
    const res = await postJson(`${emulator.url}/api/chat`, {
      model: 'llama3.1',
      messages: [{ role: 'user', content: 'x' }],
      tools: 'get_weather',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: 'json: cannot unmarshal string into Go struct field ChatRequest.tools of type api.Tools',
    });
    expect(() => emulator.configure({ toolCalls: 'sometimes' as never })).toThrow('invalid toolCalls "sometimes"');
    const remote = await postJson(`${emulator.url}/__emulator/configure`, { toolCalls: { calls: [{}] } });
    expect(remote.status).toBe(400);
    const ok = await postJson(`${emulator.url}/__emulator/configure`, { toolCalls: 'all' });
    expect(await ok.json()).toMatchObject({ toolCalls: 'all' });
  });
});
