package dev.activerm.server.core.model;

/** Thrown from a long fit loop when the caller went away (deadline or cancellation); nothing is stored. */
public final class FitCancelledException extends RuntimeException {
  public FitCancelledException(String where) {
    super("Fit cancelled by the caller during " + where);
  }

  /** Throws when the caller-supplied flag says the call is gone (core never sees gRPC). */
  public static void check(java.util.function.BooleanSupplier cancelled, String where) {
    if (cancelled.getAsBoolean()) {
      throw new FitCancelledException(where);
    }
  }
}
