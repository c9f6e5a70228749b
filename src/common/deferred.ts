/** A promise with its settle functions; settling twice is a no-op. */
export interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Whoever awaits it handles the rejection; there may be nobody left to.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}
