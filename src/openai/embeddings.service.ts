import type { RequestContext } from '../common/http/request-context';
import { Injectable } from '@nestjs/common';
import { Llm } from '../llm/llm';
import { embeddingListJson } from './embedding-list';
import { EmbeddingsRequest, toLlmEmbedRequest } from './embeddings-request';
import { ServedModels } from './served-model';
import { callOptionsFor } from '../llm/llm.types';

/** The `endpoint` label of the LLM metrics for `POST /v1/embeddings`. */
export const EMBEDDINGS_METRICS_ENDPOINT = 'embeddings';

/** `POST /v1/embeddings` on top of the `Llm` port. */
@Injectable()
export class EmbeddingsService {
  constructor(
    private readonly llm: Llm,
    private readonly served: ServedModels,
  ) {}

  /**
   * One embedding per input, in order, as OpenAI's list (`EmbeddingList`) in JSON bytes; `model` is
   * echoed as the client named it.
   * @throws OpenAiRequestError 404 when the request names a model that is not served.
   * @throws ModelCapabilityError 400 for a model without the `embedding` capability.
   * @throws ServiceUnavailableError (503), UpstreamTimeoutError (504), BadGatewayError (502), as `Llm.embed`.
   */
  async embed(request: EmbeddingsRequest, caller: RequestContext = {}): Promise<Buffer> {
    const model = this.served.resolve(request.model);
    const result = await this.llm.embed(
      toLlmEmbedRequest(request, model),
      callOptionsFor(EMBEDDINGS_METRICS_ENDPOINT, caller),
    );
    return embeddingListJson(result.embeddings, request.encoding, request.model, result.promptTokens);
  }
}
