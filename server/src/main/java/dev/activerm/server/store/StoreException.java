package dev.activerm.server.store;

/**
 * Storage failed (disk, database); the operation did not take effect. {@link #diskFull()}
 * says the cause was a full disk: the caller may retry once space is freed.
 */
public final class StoreException extends RuntimeException {
  /** What a caller is told about a full disk (the server log also gets which write failed, and where). */
  public static final String DISK_FULL = "the disk holding --data-dir is full; free space and retry; nothing was stored";

  private final boolean diskFull;

  public StoreException(String message, Throwable cause) {
    this(message, cause, false);
  }

  public StoreException(String message) {
    super(message);
    this.diskFull = false;
  }

  private StoreException(String message, Throwable cause, boolean diskFull) {
    super(message, cause);
    this.diskFull = diskFull;
  }

  /** A write refused because the disk is full; what names the write (for the server log). */
  static StoreException diskFull(String what, Throwable cause) {
    return new StoreException(
        DISK_FULL + " (" + what + ")", cause, true);
  }

  /** The failure was a full disk, so it goes away when space is freed (not a bug, not damage). */
  public boolean diskFull() {
    return diskFull;
  }
}
