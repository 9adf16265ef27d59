package dev.activerm.server.store;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one server of a data dir: an exclusive OS lock on {@code activerm.lock} inside it, held
 * for the life of the process. Two servers on one data dir would both append to the same pool
 * files and number rows from their own memory, overwriting each other's acknowledged data, so
 * the second one must not start. The OS drops the lock when the process dies (even by kill -9),
 * so a stale lock file never blocks a restart; the file's text (pid, host, start time) is only
 * there to tell the operator who holds it.
 *
 * <p>The lock also witnesses that the data dir is still the one the server opened: deleting
 * it (or swapping another directory in at its path) leaves SQLite writing to an unlinked file
 * and new pool files failing, so {@link #whatChanged()} compares the dir and the lock file
 * with the identities (device and inode) they had when the lock was taken.
 */
public final class DataDirLock implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(DataDirLock.class);
  static final String FILE_NAME = "activerm.lock";

  private final FileChannel channel;
  private final FileLock lock;
  private final Path dataDir;
  private final Path file;
  private final Object dirKey;
  private final Object fileKey;

  private DataDirLock(FileChannel channel, FileLock lock, Path dataDir, Path file) throws IOException {
    this.channel = channel;
    this.lock = lock;
    this.dataDir = dataDir.toAbsolutePath();
    this.file = file.toAbsolutePath();
    this.dirKey = identity(this.dataDir);
    this.fileKey = identity(this.file);
  }

  /** Locks dataDir (creating it if needed), or fails naming the dir and the process that holds it. */
  public static DataDirLock acquire(Path dataDir) {
    Path file = dataDir.resolve(FILE_NAME);
    FileChannel channel = null;
    try {
      Files.createDirectories(dataDir);
      channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
      FileLock lock;
      try {
        lock = channel.tryLock();
      } catch (OverlappingFileLockException e) {
        lock = null; // held by this very JVM (a second server in one process)
      }
      if (lock == null) {
        String holder = holder(channel);
        channel.close();
        throw new StoreException(
            "the data dir " + dataDir.toAbsolutePath() + " is in use by another activerm server ("
                + (holder.isEmpty() ? "holder unknown" : holder) + "; lock file " + file.toAbsolutePath()
                + "). One data dir serves one server: stop that server first, or give this one its own --data-dir");
      }
      writeHolder(channel);
      return new DataDirLock(channel, lock, dataDir, file);
    } catch (IOException e) {
      if (channel != null) {
        try {
          channel.close();
        } catch (IOException suppressed) {
          e.addSuppressed(suppressed);
        }
      }
      throw new StoreException("cannot lock the data dir " + dataDir.toAbsolutePath() + " (" + file + "): "
          + e.getMessage(), e);
    }
  }

  /**
   * Records who holds the lock, for the message a second server prints. Best effort: on a full
   * disk the text may not fit, and that must not keep the server from starting (the lock itself
   * needs no space).
   */
  private static void writeHolder(FileChannel channel) {
    String me = "pid " + ProcessHandle.current().pid() + " on host " + hostName() + ", started "
        + Instant.ofEpochMilli(ManagementFactory.getRuntimeMXBean().getStartTime());
    ByteBuffer text = ByteBuffer.wrap((me + "\n").getBytes(StandardCharsets.UTF_8));
    try {
      // Overwrite in place, then cut: reuses the blocks the file already has.
      while (text.hasRemaining()) {
        channel.write(text, text.position());
      }
      channel.truncate(text.limit());
      channel.force(false);
    } catch (IOException e) {
      log.warn("could not write the lock holder's pid into {}: {}", FILE_NAME, e.getMessage());
    }
  }

  private static String holder(FileChannel channel) throws IOException {
    // The holder's text is tiny; a partial read (the holder is writing it right now) is still useful.
    ByteBuffer buffer = ByteBuffer.allocate(1024);
    channel.read(buffer, 0);
    return new String(buffer.array(), 0, buffer.position(), StandardCharsets.UTF_8).strip();
  }

  private static String hostName() {
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      return "(unknown host)";
    }
  }

  /**
   * Empty while the data dir and its lock file are the ones this lock was taken on; otherwise
   * what happened to them and what the operator should do, for health checks and call refusals.
   */
  public Optional<String> whatChanged() {
    String what;
    try {
      if (!Objects.equals(identity(dataDir), dirKey)) {
        what = "was replaced by another directory";
      } else if (!Objects.equals(identity(file), fileKey)) {
        what = "lost its lock file " + FILE_NAME + " (it was replaced)";
      } else {
        return Optional.empty();
      }
    } catch (NoSuchFileException e) {
      what = dataDir.toString().equals(e.getFile()) ? "was deleted" : "was deleted (its lock file " + e.getFile() + " is gone)";
    } catch (IOException e) {
      what = "cannot be read (" + e.getMessage() + ")";
    }
    return Optional.of("the data dir " + dataDir + " " + what + " while this server was running, so nothing more"
        + " can be stored durably and what it holds in memory may no longer match the disk. Restart the server:"
        + " it starts on whatever --data-dir holds then (put a backup back there first if the change was a"
        + " mistake). Until then this server answers UNAVAILABLE and its health check NOT_SERVING");
  }

  private static Object identity(Path path) throws IOException {
    return Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
  }

  /** Releases the lock; the file stays (deleting it could race a server that is just locking it). */
  @Override
  public void close() {
    try {
      lock.release();
      channel.close();
    } catch (IOException e) {
      throw new StoreException("releasing the data dir lock failed: " + e.getMessage(), e);
    }
  }
}
