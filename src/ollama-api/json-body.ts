import { UnsupportedMediaTypeException } from '@nestjs/common';

/**
 * Refuses a body sent as anything but JSON (415), with the words of the service's other 415s. The
 * application also parses forms and plain text, which Ollama's routes never take: `curl -d '{...}'`
 * without a Content-Type sends a form, whose decoded fields would only make a puzzling 400.
 */
export function requireJsonBody(contentType: string | undefined): void {
  if (contentType === undefined) {
    return;
  }
  const type = contentType.split(';', 1)[0].trim().toLowerCase();
  if (type !== 'application/json') {
    throw new UnsupportedMediaTypeException(`unsupported Content-Type '${type}'; send the body as application/json`);
  }
}
