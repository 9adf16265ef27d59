package dev.activerm.server.store;

/** Storage failed (disk, database); the operation did not take effect. */
public final class StoreException extends RuntimeException {
  public StoreException(String message, Throwable cause) {
    super(message, cause);
  }

  public StoreException(String message) {
    super(message);
  }
}
