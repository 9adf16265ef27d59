package dev.activerm.server.core.project;

import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;

/**
 * A project's one upload slot, handed on in arrival order without holding a thread per
 * waiter: {@link #request()} returns a future that completes when the caller holds the slot.
 * A waiter withdraws by completing its future first (cancel, or a timeout); {@link #release()}
 * skips such futures, so a waiter that left can never be handed the slot.
 */
final class IngestSlot {
  private final ArrayDeque<CompletableFuture<Void>> waiters = new ArrayDeque<>();
  private boolean held;

  /**
   * The slot, now (an already completed future) or when the holders before it release it.
   * If {@code cancel(false)} on the future returns false and the future completed normally,
   * the caller holds the slot and must {@link #release()} it.
   */
  CompletableFuture<Void> request() {
    CompletableFuture<Void> f = new CompletableFuture<>();
    synchronized (this) {
      if (!held) {
        held = true;
        f.complete(null);
        return f;
      }
      waiters.add(f);
    }
    // A withdrawn or timed-out waiter leaves the queue at once (release would skip it anyway).
    f.whenComplete((v, e) -> {
      if (e != null) {
        synchronized (this) {
          waiters.remove(f);
        }
      }
    });
    return f;
  }

  /** Hands the slot to the oldest waiter still waiting, or frees it. */
  void release() {
    while (true) {
      CompletableFuture<Void> next;
      synchronized (this) {
        next = waiters.poll();
        if (next == null) {
          held = false;
          return;
        }
      }
      // Outside the lock: completing runs the waiter's synchronous continuations.
      if (next.complete(null)) {
        return;
      }
    }
  }

  /** Whether an upload holds the slot (for tests and diagnostics; a moment old). */
  synchronized boolean isHeld() {
    return held;
  }
}
