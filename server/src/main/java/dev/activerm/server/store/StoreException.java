package dev.activerm.server.store;

/**
 * Storage failed (disk, database); the operation did not take effect. {@link #diskFull()}
 * says the cause was a full disk: the caller may retry once space is freed.
 */
public final class StoreException extends RuntimeException {
  /** What a caller is told about a full disk (the server log also gets which write failed, and where). */
  public static final String DISK_FULL = "the disk holding --data-dir is full; free space and retry; nothing was stored";

  private final boolean diskFull;
  private final boolean damaged;

  public StoreException(String message, Throwable cause) {
    this(message, cause, false, false);
  }

  public StoreException(String message) {
    this(message, null, false, false);
  }

  private StoreException(String message, Throwable cause, boolean diskFull, boolean damaged) {
    super(message, cause);
    this.diskFull = diskFull;
    this.damaged = damaged;
  }

  /** Stored data is damaged (bytes that do not match their checksum, ids that do not add up); the message says which and how to restore them. */
  public static StoreException damaged(String message) {
    return new StoreException(message, null, false, true);
  }

  /**
   * Stored data is damaged (a pool block failed its checksum): nothing wrong was served, and
   * the message, meant for the operator and the caller alike, names the file and the bytes.
   */
  public boolean damaged() {
    return damaged;
  }

  /** A write refused because the disk is full; what names the write (for the server log). */
  static StoreException diskFull(String what, Throwable cause) {
    return new StoreException(
        DISK_FULL + " (" + what + ")", cause, true, false);
  }

  /** The failure was a full disk, so it goes away when space is freed (not a bug, not damage). */
  public boolean diskFull() {
    return diskFull;
  }
}
