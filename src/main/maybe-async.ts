// A value now, or a promise of it when something really waits (a worker, a signature check on
// libuv's threads, a body still arriving). A request whose steps all have their answer at hand
// (a cached token, an inline decision) then runs through in one go: an await on a value would
// still suspend, and a chain of async functions allocates and resolves a promise per step.

export type Maybe<T> = T | Promise<T>;

/** `next` applied to the value: at once when it is one, once settled when it is a promise. A
 * throw in `next` is thrown (a value) or rejects (a promise): callers handle both. */
export function then<T, U>(value: Maybe<T>, next: (v: T) => Maybe<U>): Maybe<U> {
  return value instanceof Promise ? value.then(next) : next(value);
}
