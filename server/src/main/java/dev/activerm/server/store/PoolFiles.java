package dev.activerm.server.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;

/**
 * Embeddings of each project as one flat file of little-endian float32 rows
 * ({@code pools/<key>.f32}). A write lands past the committed rows and is fsynced; it
 * becomes part of the pool only when {@link SqliteStore#appendResponses} commits the
 * matching rows. Bytes past the committed rows (from a crash mid-call) are ignored at load
 * and written over by the next upload.
 *
 * <p>Why not BLOBs in SQLite: WAL mode writes every byte twice (log, then checkpoint),
 * and restart would decode one BLOB per row; a flat file writes once at disk speed and
 * loads with one sequential read.
 */
public final class PoolFiles {
  private static final int IO_BUFFER_BYTES = 8 << 20;

  private final Path dir;

  public PoolFiles(Path dataDir) {
    this.dir = dataDir.resolve("pools");
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new StoreException("cannot create " + dir + ": " + e.getMessage(), e);
    }
  }

  Path path(long key) {
    return dir.resolve(key + ".f32");
  }

  /**
   * Reads the committed rows of a pool file in pieces of at most maxRowsPerPiece rows. Fails
   * if the file is missing or shorter than the committed rows: the data dir was damaged or
   * changed outside activerm. Bytes past the committed rows (an upload cut off by a crash)
   * are left alone: the next upload writes over them, and they are the only copy should the
   * database have lost commits.
   */
  public void read(long key, int rows, int dim, int maxRowsPerPiece, Consumer<FloatBuffer> sink) {
    Path file = path(key);
    long expected = (long) rows * dim * Float.BYTES;
    if (rows == 0) {
      return;
    }
    if (!Files.exists(file)) {
      throw new StoreException(file + " is missing, but the database has " + rows + " committed rows of dim " + dim
          + " for it; the data dir was changed outside activerm. Restore it from a backup (docs/operations.md,"
          + " 'Backup and restore')");
    }
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      long size = ch.size();
      if (size < expected) {
        throw new StoreException(
            file + " holds " + size + " bytes but the database has " + rows + " committed rows of dim " + dim
                + " (" + expected + " bytes); the data dir was changed outside activerm. Restore it from a backup"
                + " (docs/operations.md, 'Backup and restore')");
      }
      int pieceRows = Math.max(1, Math.min(maxRowsPerPiece, IO_BUFFER_BYTES / (dim * Float.BYTES)));
      ByteBuffer buffer = ByteBuffer.allocateDirect(pieceRows * dim * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
      long position = 0;
      for (int done = 0; done < rows; ) {
        int n = Math.min(pieceRows, rows - done);
        buffer.clear().limit(n * dim * Float.BYTES);
        while (buffer.hasRemaining()) {
          int read = ch.read(buffer, position);
          if (read < 0) {
            throw new StoreException(file + " ended early at byte " + position);
          }
          position += read;
        }
        buffer.flip();
        // A view of the read buffer, valid until the next piece: the sink copies it straight
        // into its own storage, so start-up copies each byte once.
        sink.accept(buffer.asFloatBuffer());
        done += n;
      }
    } catch (IOException e) {
      throw new StoreException("reading " + file + " failed: " + e.getMessage(), e);
    }
  }

  /**
   * Opens a writer that appends rows from firstRow on, overwriting anything uncommitted
   * there; rows become durable at {@link Writer#sync()} and part of the pool only when the
   * database commits them.
   */
  public Writer openWriter(long key, long firstRow, int dim) {
    try {
      return new Writer(FileChannel.open(path(key), StandardOpenOption.CREATE, StandardOpenOption.WRITE),
          firstRow * dim * Float.BYTES, path(key));
    } catch (IOException e) {
      throw failure("opening " + path(key), e, dir);
    }
  }

  /**
   * Flushes written pages to disk in the background while an upload is still arriving, so
   * the fsync at commit only has the last few megabytes left to write.
   */
  private static final ExecutorService FLUSHER = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "activerm-pool-flusher");
    t.setDaemon(true);
    return t;
  });

  private static final long FLUSH_EVERY_BYTES = 32L << 20;

  /** Streams rows into a pool file while a call is still receiving them. */
  public static final class Writer implements AutoCloseable {
    private final FileChannel channel;
    private final Path file;
    private final ByteBuffer buffer = ByteBuffer.allocateDirect(IO_BUFFER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    private final long start;
    private long position;
    private long unflushed;
    private boolean kept;
    private Future<?> flushing = CompletableFuture.completedFuture(null);

    private Writer(FileChannel channel, long position, Path file) {
      this.channel = channel;
      this.start = position;
      this.position = position;
      this.file = file;
    }

    public void write(float[] values) {
      // The view must span the whole buffer: a previous write left position == limit.
      FloatBuffer floats = buffer.clear().asFloatBuffer();
      try {
        for (int offset = 0; offset < values.length; ) {
          int n = Math.min(floats.capacity(), values.length - offset);
          floats.clear();
          floats.put(values, offset, n);
          buffer.clear().limit(n * Float.BYTES);
          while (buffer.hasRemaining()) {
            position += channel.write(buffer, position);
          }
          offset += n;
        }
      } catch (IOException e) {
        throw failure("writing embeddings to " + file, e, file.getParent());
      }
      unflushed += (long) values.length * Float.BYTES;
      if (unflushed >= FLUSH_EVERY_BYTES && flushing.isDone()) {
        unflushed = 0;
        // Best effort: a failure here surfaces again at sync(), which forces once more.
        flushing = FLUSHER.submit(() -> {
          channel.force(false);
          return null;
        });
      }
    }

    /** fdatasync: what was written is on disk when this returns. */
    public void sync() {
      try {
        awaitFlush();
        channel.force(false);
      } catch (IOException e) {
        throw failure("syncing " + file, e, file.getParent());
      }
    }

    private void awaitFlush() {
      try {
        flushing.get();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new StoreException("interrupted while syncing " + file, e);
      } catch (ExecutionException e) {
        // The final force below reports a real I/O problem with its own message.
      }
    }

    /** The database committed what this writer wrote: {@link #close()} must leave it in place. */
    public void keep() {
      kept = true;
    }

    /**
     * Closes the file; unless {@link #keep()} was called, first cuts off what this writer
     * wrote, so a failed upload gives its space back at once (on a disk that filled up under
     * it, that space is what every other write is waiting for).
     */
    @Override
    public void close() {
      try {
        awaitFlush();
        if (!kept && channel.size() > start) {
          channel.truncate(start);
        }
      } catch (IOException e) {
        // Only space is lost: the bytes past the committed rows are cut off at the next start.
      } finally {
        try {
          channel.close();
        } catch (IOException e) {
          throw new StoreException("closing " + file + " failed: " + e.getMessage(), e);
        }
      }
    }
  }

  /** A failed pool file operation as a StoreException, marked as disk-full when that was the cause. */
  private static StoreException failure(String what, IOException e, Path dir) {
    if (DiskFull.causedBy(e, dir)) {
      return StoreException.diskFull(what + ": " + e.getMessage(), e);
    }
    return new StoreException(what + " failed: " + e.getMessage(), e);
  }

  public void delete(long key) {
    try {
      Files.deleteIfExists(path(key));
    } catch (IOException e) {
      throw new StoreException("deleting " + path(key) + " failed: " + e.getMessage(), e);
    }
  }

  /** The project keys that have a pool file, in key order. */
  public java.util.SortedSet<Long> keysOnDisk() {
    java.util.SortedSet<Long> keys = new java.util.TreeSet<>();
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*.f32")) {
      for (Path f : files) {
        String name = f.getFileName().toString();
        try {
          keys.add(Long.parseLong(name.substring(0, name.length() - 4)));
        } catch (NumberFormatException ignored) {
          // Not ours: leave it alone.
        }
      }
    } catch (IOException e) {
      throw new StoreException("listing " + dir + " failed: " + e.getMessage(), e);
    }
    return keys;
  }

  /** The pools directory, for messages. */
  public Path dir() {
    return dir;
  }
}
