import { Module } from '@nestjs/common';
import { IdleHeapReclaimer } from './idle-heap-reclaimer';
import { RuntimeHeap, V8RuntimeHeap } from './v8-heap';

/** The process's own housekeeping: giving memory back to the system when the service falls idle. */
@Module({
  providers: [{ provide: RuntimeHeap, useClass: V8RuntimeHeap }, IdleHeapReclaimer],
})
export class RuntimeModule {}
