package dev.activerm.server.core.select;

import java.util.function.BooleanSupplier;

/** Checks a caller-supplied cancellation flag at loop boundaries (core never sees gRPC). */
public final class Cancellation {
  public static final BooleanSupplier NEVER = () -> false;

  private Cancellation() {}

  public static void check(BooleanSupplier cancelled, String where) {
    if (cancelled.getAsBoolean()) {
      throw new SelectionCancelledException(where);
    }
  }
}
