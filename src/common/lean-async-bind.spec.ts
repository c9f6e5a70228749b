import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import { installLeanAsyncResourceBind, leanAsyncResourceBind } from './lean-async-bind';

type Fn = (...args: never[]) => unknown;

/** Binds with the replacement itself, whatever is installed in this process. */
function bind<T extends Fn>(resource: AsyncResource, fn: T, thisArg?: unknown): T {
  return leanAsyncResourceBind.call(
    resource,
    fn as unknown as (...args: unknown[]) => unknown,
    thisArg,
  ) as unknown as T;
}

function accessorOf(fn: Fn): PropertyDescriptor | undefined {
  return Object.getOwnPropertyDescriptor(fn, 'asyncResource');
}

describe(leanAsyncResourceBind.name, () => {
  const storage = new AsyncLocalStorage<string>();

  it('runs the function in the async context the resource was made in, with its this, arguments and result', () => {
    const resource = storage.run('request 1', () => new AsyncResource('test'));
    const bound = bind(resource, function (this: unknown, a: number, b: number) {
      return { context: storage.getStore(), self: this, sum: a + b };
    });
    const self = { name: 'caller' };
    expect(storage.run('request 2', () => bound.call(self, 2, 3))).toEqual({ context: 'request 1', self, sum: 5 });
    expect(bound.length).toBe(2);
  });

  it('binds this when given, as Node does', () => {
    const self = { name: 'bound' };
    const resource = storage.run('request 3', () => new AsyncResource('test'));
    const bound = bind(
      resource,
      function (this: unknown, value: string) {
        return [storage.getStore(), this, value];
      },
      self,
    );
    expect(bound.call({ name: 'other' }, 'x')).toEqual(['request 3', self, 'x']);
  });

  it('shares one accessor among all bound functions instead of two deprecation wrappers each', () => {
    const first = accessorOf(bind(new AsyncResource('a'), () => 1));
    const second = accessorOf(bind(new AsyncResource('b'), () => 2));
    expect(typeof first?.get).toBe('function');
    expect(first?.get).toBe(second?.get);
    expect(first?.set).toBe(second?.set);
    expect(first?.enumerable).toBe(true);
  });

  it('keeps the deprecated asyncResource property, warning DEP0172 once', () => {
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const resource = new AsyncResource('test');
      const bound = bind(resource, () => undefined) as unknown as { asyncResource: AsyncResource };
      const other = new AsyncResource('other');
      expect(bound.asyncResource).toBe(resource);
      bound.asyncResource = other;
      expect(bound.asyncResource).toBe(other);
      expect(warn.mock.calls).toEqual([
        ['The asyncResource property on bound functions is deprecated', 'DeprecationWarning', 'DEP0172'],
      ]);
    } finally {
      warn.mockRestore();
    }
  });

  it('refuses what is not a function with ERR_INVALID_ARG_TYPE', () => {
    expect(() => bind(new AsyncResource('test'), 'nope' as unknown as Fn)).toThrow(
      expect.objectContaining({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }),
    );
  });
});

describe(installLeanAsyncResourceBind.name, () => {
  // Another test file of the same worker may have installed it already, from another realm.
  it('replaces Node’s bind once, for instances and for the static AsyncResource.bind', () => {
    installLeanAsyncResourceBind();
    expect(installLeanAsyncResourceBind()).toBe(false);
    const first = accessorOf(new AsyncResource('a').bind(() => 1));
    const second = accessorOf(AsyncResource.bind(() => 2));
    expect(typeof first?.get).toBe('function');
    expect(first?.get).toBe(second?.get);
  });
});
