import { parseRfc3339, type Json } from '../emulator/test-helpers';
import { postJson } from '../support/http';
import { cleanUpFakeServers, startFake } from './support/fake-server';

jest.setTimeout(60_000);

cleanUpFakeServers();

describe('fake ollama executable', () => {
  it('takes its models, load time and keep-alive from the environment', async () => {
    const { server, url } = await startFake({
      FAKE_OLLAMA_MODELS: 'qwen2.5:0.5b, llama3.2',
      FAKE_OLLAMA_LOAD_MS: '300',
      OLLAMA_KEEP_ALIVE: '-1',
    });
    const tags = (await (await fetch(`${url}/api/tags`)).json()) as { models: Json[] };
    expect(tags.models.map((m) => m['name'])).toEqual(['qwen2.5:0.5b', 'llama3.2:latest']);
    expect(server.stderr()).toContain('OLLAMA_KEEP_ALIVE:2562047h47m16.854775807s');

    const reply = (await (
      await postJson(`${url}/api/generate`, { model: 'qwen2.5:0.5b', prompt: 'x', stream: false })
    ).json()) as Json;
    expect(reply['load_duration']).toBeGreaterThanOrEqual(300_000_000);
    const ps = (await (await fetch(`${url}/api/ps`)).json()) as { models: Json[] };
    expect(new Date(parseRfc3339(ps.models[0]?.['expires_at'] as string)).getUTCFullYear()).toBeGreaterThan(2300);
  });

  it('starts with no models for an empty FAKE_OLLAMA_MODELS and can pull one', async () => {
    const { url } = await startFake({ FAKE_OLLAMA_MODELS: '' });
    expect(await (await fetch(`${url}/api/tags`)).json()).toEqual({ models: [] });
    const pull = (await (await postJson(`${url}/api/pull`, { model: 'llama3.1', stream: false })).json()) as Json;
    expect(pull).toEqual({ status: 'success' });
    const tags = (await (await fetch(`${url}/api/tags`)).json()) as { models: Json[] };
    expect(tags.models.map((m) => m['name'])).toEqual(['llama3.1:latest']);
  });

  it('can be steered from another process through the /__emulator control endpoints', async () => {
    const { url } = await startFake();
    expect((await postJson(`${url}/__emulator/faults`, { kind: 'busy', times: 1 })).status).toBe(200);
    const busy = await postJson(`${url}/api/chat`, { model: 'llama3.1', messages: [{ role: 'user', content: 'x' }] });
    expect(busy.status).toBe(503);
    expect(await busy.json()).toEqual({ error: 'server busy, please try again.  maximum pending requests exceeded' });

    expect((await postJson(`${url}/__emulator/configure`, { replyText: 'configured', tokenDelayMs: 0 })).status).toBe(
      200,
    );
    const ok = (await (
      await postJson(`${url}/api/chat`, {
        model: 'llama3.1',
        stream: false,
        messages: [{ role: 'user', content: 'x' }],
      })
    ).json()) as Json;
    expect(ok['message']).toEqual({ role: 'assistant', content: 'configured' });

    const stats = (await (await fetch(`${url}/__emulator/stats`)).json()) as Json;
    expect(stats).toMatchObject({ requests: { chat: 2 }, loads: 1, inFlight: 0 });
  });
  it('serves embedding and vision models with their capabilities, and tool calls steered over the control API', async () => {
    const { url } = await startFake({ FAKE_OLLAMA_MODELS: 'llama3.1,nomic-embed-text,llava' });
    const show = (await (await postJson(`${url}/api/show`, { model: 'nomic-embed-text' })).json()) as Json;
    expect(show['capabilities']).toEqual(['embedding']);
    const embed = (await (
      await postJson(`${url}/api/embed`, { model: 'nomic-embed-text', input: ['a', 'b'] })
    ).json()) as {
      embeddings: number[][];
    };
    expect(embed.embeddings.map((v) => v.length)).toEqual([768, 768]);
    const refused = await postJson(`${url}/api/chat`, { model: 'nomic-embed-text', messages: [] });
    expect(await refused.json()).toEqual({ error: '"nomic-embed-text" does not support chat' });

    const added = await postJson(`${url}/__emulator/models`, { name: 'tool-less:1b', capabilities: ['completion'] });
    expect(added.status).toBe(200);
    const tools = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: {} } } }];
    const noTools = await postJson(`${url}/api/chat`, { model: 'tool-less:1b', messages: [], tools });
    expect(await noTools.json()).toEqual({ error: 'registry.ollama.ai/library/tool-less:1b does not support tools' });

    await postJson(`${url}/__emulator/configure`, {
      toolCalls: { calls: [{ name: 'lookup', arguments: { q: 'x' } }] },
    });
    const call = (await (
      await postJson(`${url}/api/chat`, {
        model: 'llama3.1',
        stream: false,
        tools,
        messages: [{ role: 'user', content: 'look it up' }],
      })
    ).json()) as { message: { tool_calls: Json[] } };
    expect(call.message.tool_calls).toEqual([
      { id: expect.stringMatching(/^call_/), function: { index: 0, name: 'lookup', arguments: { q: 'x' } } },
    ]);
    const requests = (await (await fetch(`${url}/__emulator/requests?endpoint=embed`)).json()) as { requests: Json[] };
    expect(requests.requests).toEqual([expect.objectContaining({ model: 'nomic-embed-text', status: 200 })]);
  });
});
