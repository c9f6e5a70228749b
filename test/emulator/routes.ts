/** The route table of `server/routes.go` `GenerateRoutes()`, and gin's matching of paths to it. */
import type { EmulatorContext } from './context';
import { handleEmbed, handleEmbeddings, handleOpenAiEmbeddings } from './embed-handlers';
import { sendOllamaError, type Exchange } from './http-util';
import {
  handleCopy,
  handleDelete,
  handlePs,
  handlePull,
  handleRoot,
  handleShow,
  handleStatus,
  handleTags,
  handleVersion,
} from './native-handlers';
import { handleNativeInference } from './native-inference';
import { handleOpenAiChat, handleOpenAiModel, handleOpenAiModels } from './openai';
import type { EndpointName, Fault } from './types';

export type Handler = (ex: Exchange, fault: Fault | undefined, param: string) => Promise<void> | void;

export interface Route {
  /** Segments; `:name` matches any one segment. */
  pattern: string[];
  endpoint: EndpointName;
  methods: Partial<Record<string, Handler>>;
}

export function buildRoutes(ctx: EmulatorContext): Route[] {
  const unsupported: Handler = (ex) => sendOllamaError(ex.res, 501, 'not supported by the Ollama emulator');
  const route = (path: string, endpoint: EndpointName, methods: Partial<Record<string, Handler>>): Route => ({
    pattern: path.split('/').filter((s) => s !== ''),
    endpoint,
    methods,
  });
  const root: Handler = (ex) => handleRoot(ex);
  const version: Handler = (ex) => handleVersion(ctx, ex);
  const tags: Handler = (ex) => handleTags(ctx, ex);
  return [
    route('/', 'root', { GET: root, HEAD: root }),
    route('/api/version', 'version', { GET: version, HEAD: version }),
    route('/api/status', 'status', { GET: (ex) => handleStatus(ex) }),
    route('/api/tags', 'tags', { GET: tags, HEAD: tags }),
    route('/api/ps', 'ps', { GET: (ex) => handlePs(ctx, ex) }),
    route('/api/show', 'show', { POST: (ex) => handleShow(ctx, ex) }),
    route('/api/pull', 'pull', { POST: (ex, fault) => handlePull(ctx, ex, fault) }),
    route('/api/delete', 'delete', { DELETE: (ex) => handleDelete(ctx, ex) }),
    route('/api/copy', 'copy', { POST: (ex) => handleCopy(ctx, ex) }),
    route('/api/generate', 'generate', { POST: (ex, fault) => handleNativeInference(ctx, ex, 'generate', fault) }),
    route('/api/chat', 'chat', { POST: (ex, fault) => handleNativeInference(ctx, ex, 'chat', fault) }),
    route('/api/embed', 'embed', { POST: (ex, fault) => handleEmbed(ctx, ex, fault) }),
    route('/api/embeddings', 'embeddings', { POST: (ex, fault) => handleEmbeddings(ctx, ex, fault) }),
    route('/v1/chat/completions', 'openai-chat', { POST: (ex, fault) => handleOpenAiChat(ctx, ex, fault) }),
    route('/v1/embeddings', 'openai-embeddings', { POST: (ex, fault) => handleOpenAiEmbeddings(ctx, ex, fault) }),
    route('/v1/models', 'openai-models', { GET: (ex) => handleOpenAiModels(ctx, ex) }),
    route('/v1/models/:model', 'openai-models', { GET: (ex, _fault, param) => handleOpenAiModel(ctx, ex, param) }),
    // Registered by Ollama but not emulated: listed so that the router answers 405 like gin.
    route('/api/push', 'unsupported', { POST: unsupported }),
    route('/api/create', 'unsupported', { POST: unsupported }),
    route('/api/blobs/:digest', 'unsupported', { POST: unsupported, HEAD: unsupported }),
    route('/api/me', 'unsupported', { POST: unsupported }),
    route('/api/signout', 'unsupported', { POST: unsupported }),
    route('/api/experimental/web_search', 'unsupported', { POST: unsupported }),
    route('/api/experimental/web_fetch', 'unsupported', { POST: unsupported }),
    route('/v1/completions', 'unsupported', { POST: unsupported }),
    route('/v1/responses', 'unsupported', { POST: unsupported }),
    route('/v1/audio/transcriptions', 'unsupported', { POST: unsupported }),
    route('/v1/messages', 'unsupported', { POST: unsupported }),
  ];
}

/** The route for `path` and its `:param` segment, or undefined (gin's 404). */
export function matchRoute(routes: readonly Route[], path: string): { route: Route; param: string } | undefined {
  const segments = path.split('/').filter((s) => s !== '');
  for (const route of routes) {
    if (route.pattern.length !== segments.length) {
      continue;
    }
    let param = '';
    const matches = route.pattern.every((part, i) => {
      const segment = segments[i] ?? '';
      if (part.startsWith(':')) {
        param = decodeURIComponent(segment);
        return true;
      }
      return part === segment;
    });
    // gin redirects a trailing slash; here such a path is simply unknown.
    if (matches && (!path.endsWith('/') || path === '/')) {
      return { route, param };
    }
  }
  return undefined;
}
