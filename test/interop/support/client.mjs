// What the client side of the interop suites shares: per-test cleanups, and the bounded wait of their
// client wrappers (each wrapper records what its client sees and wakes its waiters on every event).

const cleanups = new WeakMap();

/**
 * Runs fn when test t ends. Unlike plain t.after() hooks (where a throwing hook skips the next
 * ones), every cleanup runs, last registered first (clients before their server); the first
 * error is reported once all have run.
 */
export function defer(t, fn) {
  let list = cleanups.get(t);
  if (!list) {
    list = [];
    cleanups.set(t, list);
    t.after(async () => {
      let firstError = null;
      for (const f of list.reverse()) {
        try {
          await f();
        } catch (err) {
          firstError ??= err;
        }
      }
      if (firstError) throw firstError;
    });
  }
  list.push(fn);
}

/**
 * Waits until pred() returns a truthy value and resolves with it. pred() is checked now and each time
 * `owner` wakes its waiters (owner.waiters: a Set of functions the owner calls on every event it
 * records); owner.history() ends the failure messages.
 *
 * Rejects with what pred() throws; after `ms` milliseconds with "<prefix>timed out after <ms> ms
 * waiting for <what>"; as soon as trouble() returns a text (the client disconnected, say) with
 * "<text> while waiting for <what>", after `troubleDelayMs` when given (a moment for the exit of a
 * crashed server to be noticed, so that the history says so).
 * what: a string, or a function returning one (called only on failure).
 */
export function waitUntil(owner, pred, what, { ms, prefix = "", trouble = () => null, troubleDelayMs = 0 }) {
  const label = typeof what === "function" ? what : () => what;
  return new Promise((resolve, reject) => {
    let timer;
    const done = () => {
      clearTimeout(timer);
      owner.waiters.delete(check);
    };
    const check = () => {
      let value;
      try {
        value = pred();
      } catch (err) {
        done();
        reject(err);
        return;
      }
      if (value) {
        done();
        resolve(value);
        return;
      }
      const problem = trouble();
      if (problem) {
        done();
        const fail = () => reject(new Error(`${problem} while waiting for ${label()}\n  ${owner.history()}`));
        if (troubleDelayMs > 0) setTimeout(fail, troubleDelayMs);
        else fail();
      }
    };
    timer = setTimeout(() => {
      done();
      reject(new Error(`${prefix}timed out after ${ms} ms waiting for ${label()}\n  ${owner.history()}`));
    }, ms);
    owner.waiters.add(check);
    check();
  });
}

/**
 * The part the wrappers of a socket.io-client Socket share. The subclass records what its socket
 * sees: the argument lists of each event in queue(event), the "connect_error"s in `connectErrors`,
 * the "disconnect"s in `disconnects`; it calls every function of `waiters` on each event and defines
 * history(). In return it gets next(event) and until(), a bounded wait (see waitUntil()) that fails
 * as soon as the socket disconnects or fails to connect, unless allowDisconnect.
 *
 * options: waitMs, until()'s default bound; prefix, of the message when a wait times out;
 * disconnected, the message when the socket disconnected; troubleDelayMs, see waitUntil().
 */
export class SocketRecorder {
  constructor({ waitMs, prefix, disconnected, troubleDelayMs = 0 }) {
    this.queues = new Map(); // event name -> unconsumed argument lists
    this.connectErrors = [];
    this.disconnects = [];
    this.waiters = new Set();
    this.waitOptions = { waitMs, prefix, disconnected, troubleDelayMs };
  }

  queue(event) {
    if (!this.queues.has(event)) this.queues.set(event, []);
    return this.queues.get(event);
  }

  /**
   * Waits until pred() returns a truthy value (re-checked on every client event).
   * Rejects on timeout, or when a disconnect / connect_error happens during the wait
   * (unless allowDisconnect).
   */
  until(pred, what, { ms = this.waitOptions.waitMs, allowDisconnect = false } = {}) {
    const { prefix, disconnected, troubleDelayMs } = this.waitOptions;
    const troubles = () => this.disconnects.length + this.connectErrors.length;
    const troublesBefore = troubles();
    return waitUntil(this, pred, what, {
      ms,
      prefix,
      trouble: () => (!allowDisconnect && troubles() > troublesBefore ? disconnected : null),
      troubleDelayMs,
    });
  }

  /** Returns the argument list of the next (not yet consumed) `event`. */
  async next(event, opts) {
    await this.until(() => this.queue(event).length > 0, `event ${JSON.stringify(event)}`, opts);
    return this.queue(event).shift();
  }
}
