package dev.activerm.server.core.select;

/** Thrown from a long selection loop when the caller went away (deadline or cancellation). */
public final class SelectionCancelledException extends RuntimeException {
  public SelectionCancelledException(String where) {
    super("selection cancelled by the caller during " + where);
  }
}
