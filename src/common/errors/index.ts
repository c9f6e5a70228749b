export * from './domain.error';
