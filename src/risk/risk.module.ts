import { Module } from '@nestjs/common';
import { LlmModule } from '../llm/llm.module';
import { RiskController } from './risk.controller';
import { RiskService } from './risk.service';

/** `POST /risk/assess`: exact price indicators plus the model's checked, structured judgement. */
@Module({
  imports: [LlmModule],
  controllers: [RiskController],
  providers: [RiskService],
})
export class RiskModule {}
