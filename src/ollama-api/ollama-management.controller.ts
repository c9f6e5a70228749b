import { Controller, Delete, Head, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { API_KEY_AUTH, BEARER_AUTH } from '../common/openapi/setup-openapi';
import { ModelManagementRefusedError } from './ollama-api.errors';
import { ApiOllamaErrors } from './ollama-api.openapi';

const REFUSED = 'Refused (403): the gateway’s configuration (OLLAMA_MODEL, OLLAMA_MODELS) decides which models exist.';

/**
 * Ollama's model management, answered so that clients get a reason instead of a 404: which models
 * exist, and their content, is the gateway's configuration, so every call is refused (403).
 */
@ApiTags('ollama')
@ApiBearerAuth(BEARER_AUTH)
@ApiSecurity(API_KEY_AUTH)
@ApiOllamaErrors(401, 403, 429)
@Controller('api')
export class OllamaManagementController {
  @Post('pull')
  @HttpCode(403)
  @ApiOperation({ summary: 'Pull a model (Ollama’s API)', description: REFUSED })
  pull(): never {
    throw new ModelManagementRefusedError('pulling a model');
  }

  @Post('push')
  @HttpCode(403)
  @ApiOperation({ summary: 'Push a model (Ollama’s API)', description: REFUSED })
  push(): never {
    throw new ModelManagementRefusedError('pushing a model');
  }

  @Post('create')
  @HttpCode(403)
  @ApiOperation({ summary: 'Create a model (Ollama’s API)', description: REFUSED })
  create(): never {
    throw new ModelManagementRefusedError('creating a model');
  }

  @Post('copy')
  @HttpCode(403)
  @ApiOperation({ summary: 'Copy a model (Ollama’s API)', description: REFUSED })
  copy(): never {
    throw new ModelManagementRefusedError('copying a model');
  }

  @Delete('delete')
  @HttpCode(403)
  @ApiOperation({ summary: 'Delete a model (Ollama’s API)', description: REFUSED })
  delete(): never {
    throw new ModelManagementRefusedError('deleting a model');
  }

  @Head('blobs/:digest')
  @HttpCode(403)
  @ApiOperation({ summary: 'Check for a blob (Ollama’s API)', description: REFUSED })
  hasBlob(): never {
    throw new ModelManagementRefusedError('checking for a model blob');
  }

  @Post('blobs/:digest')
  @HttpCode(403)
  @ApiOperation({ summary: 'Upload a blob (Ollama’s API)', description: REFUSED })
  uploadBlob(): never {
    throw new ModelManagementRefusedError('uploading a model blob');
  }
}
