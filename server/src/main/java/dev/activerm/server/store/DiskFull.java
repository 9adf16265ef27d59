package dev.activerm.server.store;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.sqlite.SQLiteErrorCode;
import org.sqlite.SQLiteException;

/** Tells a full disk apart from other storage failures, so callers can be told to free space and retry. */
final class DiskFull {
  /** Below this much free space an unspecific I/O error is taken to be the disk filling up. */
  private static final long NEARLY_FULL_BYTES = 1 << 20;

  private DiskFull() {}

  static boolean causedBy(Throwable failure, Path dataDir) {
    boolean ioError = false;
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof SQLiteException e) {
        int primary = e.getResultCode().code & 0xff;
        if (primary == SQLiteErrorCode.SQLITE_FULL.code) {
          return true;
        }
        ioError |= primary == SQLiteErrorCode.SQLITE_IOERR.code;
      }
      String message = t.getMessage();
      if (message != null && (message.contains("No space left on device") || message.contains("Disk quota exceeded"))) {
        return true;
      }
      ioError |= t instanceof IOException;
    }
    // SQLite reports some ENOSPC cases (growing its shared memory, fsync) only as I/O errors.
    return ioError && nearlyFull(dataDir);
  }

  private static boolean nearlyFull(Path dataDir) {
    try {
      return Files.getFileStore(dataDir).getUsableSpace() < NEARLY_FULL_BYTES;
    } catch (IOException e) {
      return false;
    }
  }
}
