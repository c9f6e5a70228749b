import { AsyncResource } from 'node:async_hooks';

const DEPRECATION = 'The asyncResource property on bound functions is deprecated';

/** Holds each bound function's resource, for the deprecated `asyncResource` property. */
const RESOURCE = Symbol('asyncResource');
let warned = false;

function warnOnce(): void {
  if (!warned) {
    warned = true;
    process.emitWarning(DEPRECATION, 'DeprecationWarning', 'DEP0172');
  }
}

/** One accessor shared by every bound function. */
const ASYNC_RESOURCE_PROPERTY: PropertyDescriptor = {
  configurable: true,
  enumerable: true,
  get(this: Record<symbol, AsyncResource | undefined>): AsyncResource | undefined {
    warnOnce();
    return this[RESOURCE];
  },
  set(this: Record<symbol, AsyncResource | undefined>, value: AsyncResource): void {
    warnOnce();
    this[RESOURCE] = value;
  },
};

type Bindable = (...args: unknown[]) => unknown;

/** Marks the replacement, whichever copy of this module installed it. */
const LEAN = Symbol.for('local-llm-gateway.lean-async-resource-bind');

/** `AsyncResource.prototype.bind` without a deprecation wrapper per call; see `installLeanAsyncResourceBind`. */
export function leanAsyncResourceBind(this: AsyncResource, fn: Bindable, thisArg?: unknown): Bindable {
  if (typeof fn !== 'function') {
    throw Object.assign(new TypeError(`The "fn" argument must be of type function. Received ${typeof fn}`), {
      code: 'ERR_INVALID_ARG_TYPE',
    });
  }
  return bindTo(this, fn, thisArg);
}

function bindTo(resource: AsyncResource, fn: Bindable, thisArg: unknown): Bindable {
  const bound: Bindable =
    thisArg === undefined
      ? function (this: unknown, ...args: unknown[]) {
          return resource.runInAsyncScope(fn, this, ...args);
        }
      : resource.runInAsyncScope.bind(resource, fn, thisArg);
  if (fn.length !== 0) {
    // Both forms of `bound` have length 0 of their own.
    Object.defineProperty(bound, 'length', {
      configurable: true,
      enumerable: false,
      value: fn.length,
      writable: false,
    });
  }
  Object.defineProperty(bound, 'asyncResource', ASYNC_RESOURCE_PROPERTY);
  Object.defineProperty(bound, RESOURCE, { configurable: true, enumerable: false, value: resource, writable: true });
  return bound;
}

/** Whether this Node's `bind` builds deprecation wrappers of its own for every bound function. */
function bindBuildsWrappers(): boolean {
  const probe = new AsyncResource('probe');
  const a = Object.getOwnPropertyDescriptor(
    probe.bind(() => undefined),
    'asyncResource',
  );
  const b = Object.getOwnPropertyDescriptor(
    probe.bind(() => undefined),
    'asyncResource',
  );
  probe.emitDestroy();
  return a?.get !== undefined && a.get !== b?.get;
}

/**
 * Makes `AsyncResource.prototype.bind` (and so the static `AsyncResource.bind`) cheap, on the Node
 * versions that need it. Fastify binds the body parser's callback of every request that way, and
 * Nest every interceptor chain's handler; on Node 20 each bind wraps two fresh functions with
 * `util.deprecate` for the deprecated `asyncResource` property (DEP0172), and each such wrapper takes
 * a function as its prototype, which gives it a map of its own: garbage for the old generation on
 * every request. `docs/benchmarks.md` has what that cost here; nodejs/node#58218 reports the same
 * cost of `deprecate`.
 *
 * The replacement binds exactly as Node does (the function runs in the resource's async scope, with
 * the same `this`, arguments, result and `length`) and keeps the deprecated property: one accessor
 * shared by every bound function, which still warns DEP0172 once when used. Returns whether it was
 * installed; calling it again changes nothing.
 */
export function installLeanAsyncResourceBind(): boolean {
  if ((AsyncResource.prototype.bind as unknown as Record<symbol, unknown>)[LEAN] === true || !bindBuildsWrappers()) {
    return false;
  }
  Object.defineProperty(AsyncResource.prototype, 'bind', {
    configurable: true,
    enumerable: false,
    writable: true,
    value: Object.assign(leanAsyncResourceBind, { [LEAN]: true }),
  });
  return true;
}
