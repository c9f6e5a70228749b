import { AIMessageChunk, HumanMessage, SystemMessage, ToolMessage } from '@langchain/core/messages';
import { tool } from '@langchain/core/tools';
import { ChatOpenAI, OpenAIEmbeddings } from '@langchain/openai';
import { z } from 'zod';
import { Gateway } from './gateway';
import {
  API_KEY,
  EMBEDDING_DIMENSIONS,
  EMBEDDING_MODEL,
  lastChatBody,
  openAiClient,
  startModelsGateway,
  TOOLS_MODEL,
} from './models-gateway';

const getWeather = tool(async ({ city }: { city: string; unit: 'celsius' | 'fahrenheit' }) => `21 degrees in ${city}`, {
  name: 'get_weather',
  description: 'Current weather of a city',
  schema: z.object({ city: z.string().describe('City name'), unit: z.enum(['celsius', 'fahrenheit']) }),
});

const Assessment = z.object({
  riskLevel: z.enum(['low', 'medium', 'high']),
  score: z.number().int().min(0).max(100),
  reasons: z.array(z.string()).min(1),
});

function chatModel(gateway: Gateway, model = TOOLS_MODEL): ChatOpenAI {
  return new ChatOpenAI({
    model,
    apiKey: API_KEY,
    configuration: { baseURL: `${gateway.url}/v1` },
    maxRetries: 0,
    temperature: 0,
  });
}

describe('the gateway with LangChain’s @langchain/openai', () => {
  let gateway: Gateway;

  beforeAll(async () => {
    gateway = await startModelsGateway();
  });

  afterEach(() => {
    gateway?.emulator.configure({ structuredReply: undefined });
  });

  afterAll(async () => {
    await gateway?.close();
  });

  describe(ChatOpenAI.name, () => {
    it('answers a plain chat', async () => {
      const answer = await chatModel(gateway).invoke([new SystemMessage('Be brief.'), new HumanMessage('Hello there')]);
      expect(answer.content).toMatch(/Hello there/);
    });

    it('with bindTools, returns the model’s call as tool_calls on the AIMessage', async () => {
      const answer = await chatModel(gateway)
        .bindTools([getWeather])
        .invoke([new HumanMessage('What is the weather in Oslo?')]);
      expect(answer.tool_calls).toEqual([
        {
          id: expect.stringMatching(/^call_\w+$/),
          name: 'get_weather',
          args: { city: expect.any(String), unit: expect.stringMatching(/^(celsius|fahrenheit)$/) },
          type: 'tool_call',
        },
      ]);
      const upstream = lastChatBody(gateway, TOOLS_MODEL);
      expect(upstream.tools).toEqual([
        expect.objectContaining({ type: 'function', function: expect.objectContaining({ name: 'get_weather' }) }),
      ]);
    });

    it('streams a tool call into the chunks’ tool_call_chunks, and runs a whole tool loop', async () => {
      const model = chatModel(gateway).bindTools([getWeather]);
      const question = new HumanMessage('What is the weather in Oslo?');
      let merged: AIMessageChunk | undefined;
      for await (const chunk of await model.stream([question])) {
        merged = merged === undefined ? chunk : merged.concat(chunk);
      }
      expect(merged?.tool_calls).toEqual([expect.objectContaining({ name: 'get_weather', args: expect.any(Object) })]);
      const call = merged?.tool_calls?.[0];
      if (call === undefined || merged === undefined) {
        throw new Error('no tool call came back');
      }
      const result: ToolMessage = await getWeather.invoke(call);
      const final = await model.invoke([question, merged, result]);
      expect(final.tool_calls ?? []).toEqual([]);
      expect(final.content).toMatch(/^Based on the tool results: get_weather returned 21 degrees in .+\.$/);
      expect(lastChatBody(gateway, TOOLS_MODEL).messages).toEqual([
        { role: 'user', content: 'What is the weather in Oslo?' },
        { role: 'assistant', content: '', tool_calls: [{ function: { name: 'get_weather', arguments: call.args } }] },
        { role: 'tool', content: expect.stringMatching(/^21 degrees in /), tool_name: 'get_weather' },
      ]);
    });

    it('withStructuredOutput by default asks with a json_schema response_format and parses the answer', async () => {
      gateway.emulator.configure({ structuredReply: { riskLevel: 'high', score: 80, reasons: ['leverage'] } });
      const assessment = await chatModel(gateway).withStructuredOutput(Assessment).invoke('Assess ACME bonds.');
      expect(assessment).toEqual({ riskLevel: 'high', score: 80, reasons: ['leverage'] });
      const record = gateway.emulator.lastRequest({ endpoint: 'chat', model: TOOLS_MODEL });
      expect(record?.tools).toBeUndefined();
      expect(record?.format).toMatchObject({
        type: 'object',
        properties: { riskLevel: { enum: ['low', 'medium', 'high'] }, score: { type: 'integer' } },
      });
    });

    it('withStructuredOutput with function calling forces the tool and parses its arguments', async () => {
      const assessment = await chatModel(gateway)
        .withStructuredOutput(Assessment, { method: 'functionCalling', name: 'assessment' })
        .invoke('Assess ACME bonds.');
      expect(Assessment.safeParse(assessment).success).toBe(true);
      const record = gateway.emulator.lastRequest({ endpoint: 'chat', model: TOOLS_MODEL });
      expect(record?.tools).toBeUndefined();
      expect(record?.format).toMatchObject({
        properties: { name: { const: 'assessment' }, arguments: { type: 'object' } },
        required: ['name', 'arguments'],
      });
    });

    it('withStructuredOutput in JSON mode parses the JSON answer', async () => {
      gateway.emulator.configure({ structuredReply: { riskLevel: 'low', score: 10, reasons: ['cash'] } });
      const assessment = await chatModel(gateway)
        .withStructuredOutput(Assessment, { method: 'jsonMode' })
        .invoke('Assess cash. Answer in JSON.');
      expect(assessment).toEqual({ riskLevel: 'low', score: 10, reasons: ['cash'] });
      expect(lastChatBody(gateway, TOOLS_MODEL).format).toBe('json');
    });

    it('raises the gateway’s refusal of a model that is not served', async () => {
      await expect(chatModel(gateway, 'gpt-4o').invoke('Hi')).rejects.toThrow(/does not exist/);
    });
  });

  describe(OpenAIEmbeddings.name, () => {
    function embeddings(): OpenAIEmbeddings {
      return new OpenAIEmbeddings({
        model: EMBEDDING_MODEL,
        apiKey: API_KEY,
        configuration: { baseURL: `${gateway.url}/v1` },
        maxRetries: 0,
      });
    }

    it('embeds a query as the official client does', async () => {
      const vector = await embeddings().embedQuery('duration risk');
      expect(vector).toHaveLength(EMBEDDING_DIMENSIONS);
      const direct = await openAiClient(gateway).embeddings.create({
        model: EMBEDDING_MODEL,
        input: 'duration risk',
        encoding_format: 'float',
      });
      expect(vector).toEqual(direct.data[0].embedding.map((value) => Math.fround(value)));
    });

    it('embeds documents in order, one vector each', async () => {
      const documents = ['duration risk', 'convexity', 'duration risk'];
      const vectors = await embeddings().embedDocuments(documents);
      expect(vectors).toHaveLength(3);
      expect(vectors.every((vector) => vector.length === EMBEDDING_DIMENSIONS)).toBe(true);
      expect(vectors[0]).toEqual(vectors[2]);
      expect(vectors[0]).not.toEqual(vectors[1]);
      expect(gateway.emulator.lastRequest({ endpoint: 'embed', model: EMBEDDING_MODEL })?.body).toMatchObject({
        input: documents,
      });
    });
  });
});
