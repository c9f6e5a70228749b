import { EVENT_STREAM_HEADERS, formatServerSentEvent, toEventStream } from './server-sent-events';

describe(formatServerSentEvent.name, () => {
  it('writes an unnamed event as one data line and a blank line', () => {
    expect(formatServerSentEvent({ data: { delta: 'Hi' } })).toBe('data: {"delta":"Hi"}\n\n');
  });

  it('names the event when given', () => {
    expect(formatServerSentEvent({ event: 'done', data: { ok: true } })).toBe('event: done\ndata: {"ok":true}\n\n');
  });

  it('keeps line breaks inside the data escaped, so one event stays one event', () => {
    expect(formatServerSentEvent({ data: { delta: 'a\n\ndata: b' } })).toBe('data: {"delta":"a\\n\\ndata: b"}\n\n');
  });
});

describe(toEventStream.name, () => {
  it('turns the events into the wire text, in order', async () => {
    async function* events(): AsyncGenerator<{ event?: string; data: unknown }> {
      yield { data: { delta: 'a' } };
      yield { data: { delta: 'b' } };
      yield { event: 'done', data: {} };
    }
    let text = '';
    for await (const chunk of toEventStream(events())) {
      text += String(chunk);
    }
    expect(text).toBe('data: {"delta":"a"}\n\ndata: {"delta":"b"}\n\nevent: done\ndata: {}\n\n');
  });

  it('ends the events when the stream is destroyed, as when the client leaves', async () => {
    let ended = false;
    async function* events(): AsyncGenerator<{ data: unknown }> {
      try {
        for (;;) {
          yield { data: 1 };
        }
      } finally {
        ended = true;
      }
    }
    const stream = toEventStream(events());
    for await (const _chunk of stream) {
      break;
    }
    expect(stream.destroyed).toBe(true);
    expect(ended).toBe(true);
  });
});

describe('EVENT_STREAM_HEADERS', () => {
  it('asks caches and proxies not to hold the stream back', () => {
    expect(EVENT_STREAM_HEADERS).toEqual({
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
  });
});
