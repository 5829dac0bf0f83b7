/**
 * A small typed event emitter: `on(name, listener)` returns a function that removes the listener.
 * A listener that throws does not stop the others, nor the client: the error is reported with the
 * platform's `reportError` (browsers) or `console.error`.
 */
export class Emitter<Events extends object> {
  private readonly listeners = new Map<keyof Events, Set<(value: never) => void>>();

  /** Adds `listener` for `name`; returns a function that removes it. */
  on<K extends keyof Events>(name: K, listener: (value: Events[K]) => void): () => void {
    if (typeof listener !== "function") {
      throw new TypeError("listener: " + typeof listener + " (expected: a function)");
    }
    let set = this.listeners.get(name);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(name, set);
    }
    set.add(listener as (value: never) => void);
    return () => this.off(name, listener);
  }

  /** Removes `listener` for `name`. */
  off<K extends keyof Events>(name: K, listener: (value: Events[K]) => void): void {
    this.listeners.get(name)?.delete(listener as (value: never) => void);
  }

  /** Adds a listener that is removed after its first call. */
  once<K extends keyof Events>(name: K, listener: (value: Events[K]) => void): () => void {
    const off = this.on(name, (value) => {
      off();
      listener(value);
    });
    return off;
  }

  protected emit<K extends keyof Events>(name: K, value: Events[K]): void {
    const set = this.listeners.get(name);
    if (set === undefined) {
      return;
    }
    for (const listener of [...set]) {
      try {
        (listener as (v: Events[K]) => void)(value);
      } catch (e) {
        const report = (globalThis as { reportError?: (e: unknown) => void }).reportError;
        if (typeof report === "function") {
          report(e);
        } else {
          console.error("wsgateway client: a " + String(name) + " listener threw", e);
        }
      }
    }
  }
}
