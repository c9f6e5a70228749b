/** The content type of every JSON answer of the service's own: what Fastify sends for an object. */
export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';
