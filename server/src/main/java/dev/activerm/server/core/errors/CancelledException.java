package dev.activerm.server.core.errors;

import java.util.function.BooleanSupplier;

/**
 * Thrown from a long loop (Fit, SelectBatch) when the caller went away (deadline or
 * cancellation); nothing is stored. Core polls a caller-supplied flag and never sees gRPC;
 * the api layer's error mapper tells a deadline from a cancellation.
 */
public final class CancelledException extends RuntimeException {
  /** A flag that is never raised, for callers without a deadline. */
  public static final BooleanSupplier NEVER = () -> false;

  private CancelledException(String message) {
    super(message);
  }

  /** "Fit cancelled by the caller during {where}". */
  public static CancelledException fit(String where) {
    return new CancelledException("Fit cancelled by the caller during " + where);
  }

  /** "selection cancelled by the caller during {where}". */
  public static CancelledException selection(String where) {
    return new CancelledException("selection cancelled by the caller during " + where);
  }

  /** Polled by Fit between steps. */
  public static void checkFit(BooleanSupplier cancelled, String where) {
    if (cancelled.getAsBoolean()) {
      throw fit(where);
    }
  }

  /** Polled by SelectBatch between steps. */
  public static void checkSelection(BooleanSupplier cancelled, String where) {
    if (cancelled.getAsBoolean()) {
      throw selection(where);
    }
  }
}
