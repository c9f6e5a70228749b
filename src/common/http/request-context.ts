import type { FastifyReply } from 'fastify';
import { abortOnClientDisconnect } from './client-disconnect';

/** What a service needs to know of the HTTP request it works for. */
export interface RequestContext {
  /** Fires when the client goes away (or stops reading): the work for it should stop. */
  signal?: AbortSignal;
  /** The request's id: the log lines about its work carry it as `reqId`. */
  requestId?: string;
}

/** The context of the request that `reply` answers: its client-disconnect signal and its id. */
export function requestContextOf(reply: FastifyReply): Required<RequestContext> {
  return { signal: abortOnClientDisconnect(reply), requestId: String(reply.request.id) };
}
