package dev.activerm.server.core.project;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One AddResponses call's place in its project's upload queue, taken before the call holds
 * the slot. Either {@link Responses#open} turns it into a batch (which then owns the slot), or
 * {@link #withdraw()} gives it up: it leaves the queue, or gives back a slot already handed to it.
 * Nothing here blocks: the caller continues when {@link #granted()} completes.
 */
public final class IngestClaim {
  private final ProjectState state;
  private final CompletableFuture<Void> slot;
  private final CompletableFuture<Void> granted;
  private final AtomicBoolean ended = new AtomicBoolean();

  IngestClaim(ProjectState state, String what) {
    this.state = state;
    this.slot = state.requestIngest();
    this.granted = slot.exceptionallyCompose(e -> CompletableFuture.failedFuture(
        e instanceof TimeoutException ? state.ingestTimeout(what) : e));
  }

  /** Completes when the call holds the slot; fails with ABORTED after the wait limit. */
  public CompletableFuture<Void> granted() {
    return granted;
  }

  public String projectId() {
    return state.spec().id();
  }

  ProjectState state() {
    return state;
  }

  /** Marks the slot as passed on to a batch; false if the claim was withdrawn first. */
  boolean handOver() {
    return ended.compareAndSet(false, true);
  }

  /** Leaves the queue, or releases the slot if it was already granted; once only, then a no-op. */
  public void withdraw() {
    if (!ended.compareAndSet(false, true)) {
      return;
    }
    if (!slot.cancel(false) && !slot.isCompletedExceptionally()) {
      state.releaseIngest();
    }
  }
}
