package dev.activerm.server.store;

import java.io.IOException;
import java.nio.ByteBuffer;
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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Embeddings of each project as one flat file of little-endian float32 rows
 * ({@code pools/<key>.f32}) with its block checksums beside it ({@code pools/<key>.crc},
 * {@link PoolChecksums}). A write lands past the committed rows and is fsynced with its
 * checksums; it becomes part of the pool only when {@link SqliteStore#appendResponses}
 * commits the matching rows. Bytes past the committed rows (from a crash mid-call) are
 * ignored at load and written over by the next upload.
 *
 * <p>Why not BLOBs in SQLite: WAL mode writes every byte twice (log, then checkpoint),
 * and restart would decode one BLOB per row; a flat file writes once at disk speed and is
 * served straight from the page cache through a memory mapping ({@link PoolMap}).
 */
public final class PoolFiles {
  private static final Logger log = LoggerFactory.getLogger(PoolFiles.class);
  private static final int IO_BUFFER_BYTES = 8 << 20;
  /**
   * Direct buffers for every writer of this process, lent per write call: 4 x 8 MiB bounds
   * the direct memory uploads use, however many calls run (two cores write at most two at once).
   */
  static final DirectBuffers WRITE_BUFFERS = new DirectBuffers(IO_BUFFER_BYTES, 4);

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

  Path checksumPath(long key) {
    return dir.resolve(key + ".crc");
  }

  /**
   * Maps the committed rows of a pool file ({@link PoolMap}), checking what start-up must:
   * the file is at least as long as the committed rows, the sidecar is sound, and the blocks at
   * the committed end (where the stored list and the committed rows can disagree after a
   * failed or crashed upload) match. Every other block is checked on its first read. Fails,
   * naming the file and the byte range, if a block does not match or the file is shorter than
   * the committed rows: the data dir was damaged or changed outside activerm. A pool file
   * without checksums (a data dir from before them) is read once whole and gets them now.
   * Bytes past the committed rows (an upload cut off by a crash) are left alone: the next
   * upload writes over them, and they are the only copy should the database have lost commits.
   */
  public PoolMap map(long key, int rows, int dim) {
    return map(key, rows, dim, PoolMap.MAX_CHUNK_BYTES);
  }

  PoolMap map(long key, int rows, int dim, long maxChunkBytes) {
    Path file = path(key);
    long expected = (long) rows * dim * Float.BYTES;
    if (rows == 0) {
      return PoolMap.empty(file, dim, maxChunkBytes);
    }
    if (!Files.exists(file)) {
      throw new StoreException(file + " is missing, but the database has " + rows + " committed rows of dim " + dim
          + " for it; the data dir was changed outside activerm. Restore it from a backup (docs/operations.md,"
          + " 'Backup and restore')");
    }
    PoolChecksums stored = PoolChecksums.read(checksumPath(key));
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      long size = ch.size();
      if (size < expected) {
        throw new StoreException(
            file + " holds " + size + " bytes but the database has " + rows + " committed rows of dim " + dim
                + " (" + expected + " bytes); the data dir was changed outside activerm. Restore it from a backup"
                + " (docs/operations.md, 'Backup and restore')");
      }
      int blocks = (int) ((expected + PoolChecksums.BLOCK_BYTES - 1) / PoolChecksums.BLOCK_BYTES);
      // Blocks wholly below both the stored list's end and the committed end: their stored
      // checksum is over the very bytes the rows use, checked on first read. The rest (at
      // most the blocks an interrupted upload touched) are settled now, as a full read did before.
      int lazy = stored == null ? 0
          : (int) Math.min(stored.crcs().length, Math.min(stored.covered(), expected) / PoolChecksums.BLOCK_BYTES);
      int[] crcs = new int[blocks];
      boolean[] checked = new boolean[blocks];
      if (lazy > 0) {
        System.arraycopy(stored.crcs(), 0, crcs, 0, lazy);
      }
      long unchecked = 0;
      for (int i = lazy; i < blocks; i++) {
        long from = (long) i * PoolChecksums.BLOCK_BYTES;
        long end = Math.min(from + PoolChecksums.BLOCK_BYTES, expected);
        crcs[i] = crcOf(ch, from, end);
        checked[i] = true;
        unchecked += verifyBlock(file, ch, stored, i, from, end, crcs[i]);
      }
      PoolChecksums now = new PoolChecksums(expected, crcs);
      if (stored == null) {
        log.info("{} had no checksums (a data dir from before them, or a full disk kept them from being written):"
            + " checksummed its {} committed rows into {}",
            file, rows, checksumPath(key).getFileName());
        writeChecksums(key, now);
      } else if (stored.covered() != expected || unchecked > 0) {
        if (stored.covered() > expected) {
          // Normal after a crash between an upload's sync and its commit; also what a lost WAL
          // looks like, so say where the bytes are while they still exist.
          log.info("{}: bytes {}..{} were synced by an upload the database has not committed (a crash or failed"
              + " commit between the two, or lost database commits); kept until the next upload to this project"
              + " writes over them", file, expected, stored.covered() - 1);
        }
        if (unchecked > 0) {
          log.warn("{}: {} committed bytes had no checksum yet (left by an upload that failed or crashed); checksummed"
              + " them as they are", file, unchecked);
        }
        writeChecksums(key, now);
      }
      return PoolMap.map(file, dim, rows, crcs, checked, maxChunkBytes);
    } catch (IOException e) {
      throw new StoreException("mapping " + file + " failed: " + e.getMessage(), e);
    }
  }

  /**
   * Compares the stored checksum of block i with the one just computed over its committed
   * bytes [from, end); for a block the stored list covers to a different length (a failed
   * upload's sync), reads that length again. Returns how many committed bytes of the block the
   * stored list does not cover.
   */
  private static long verifyBlock(Path file, FileChannel ch, PoolChecksums stored, int i, long from, long end,
      int actual) throws IOException {
    if (stored == null || i >= stored.crcs().length || from >= stored.covered()) {
      return end - from;
    }
    long storedEnd = Math.min(from + PoolChecksums.BLOCK_BYTES, stored.covered());
    int crc;
    if (storedEnd == end) {
      crc = actual;
    } else if (storedEnd <= ch.size()) {
      crc = crcOf(ch, from, storedEnd);
    } else {
      return end - from;
    }
    if (crc != stored.crcs()[i]) {
      throw mismatch(file, from, storedEnd - 1, i, stored.crcs()[i], crc);
    }
    return 0;
  }

  /** The one message for a block whose bytes do not match their checksum (at start-up or at a read). */
  static StoreException mismatch(Path file, long from, long last, int block, int stored, int computed) {
    // Named relative to the data dir: the message also goes to callers (DATA_LOSS), who need
    // not learn the server's paths; the operator knows where --data-dir is.
    return StoreException.damaged(String.format(
        "%s under --data-dir: bytes %d..%d (rows of block %d) do not match their CRC32C checksum (stored %08x, computed %08x):"
            + " the file was damaged or changed outside activerm. Restore the data dir from a backup"
            + " (docs/operations.md, 'Backup and restore'); only if you know these bytes are right, delete %s"
            + " and start again to checksum the file as it is",
        file.getParent().getFileName().resolve(file.getFileName()), from, last, block, stored, computed,
        file.getFileName().toString().replace(".f32", ".crc")));
  }

  private static int crcOf(FileChannel ch, long from, long to) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(to - from));
    while (b.hasRemaining()) {
      if (ch.read(b, from + b.position()) < 0) {
        throw new IOException("ended early at byte " + (from + b.position()));
      }
    }
    java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
    crc.update(b.flip());
    return (int) crc.getValue();
  }

  /** Best effort at start-up: without it (a full disk) the checksums are computed again at the next start. */
  private void writeChecksums(long key, PoolChecksums checksums) {
    try {
      checksums.write(checksumPath(key));
    } catch (IOException e) {
      log.warn("could not write {}: {}; the pool file was checked, its checksums are written at the next start",
          checksumPath(key), e.getMessage());
      try {
        Files.deleteIfExists(checksumPath(key));
      } catch (IOException ignored) {
        // A stale list is still checked block by block against what it covers.
      }
    }
  }

  /**
   * Opens a writer that appends rows from firstRow on, overwriting anything uncommitted
   * there; rows become durable at {@link Writer#sync()} and part of the pool only when the
   * database commits them.
   */
  public Writer openWriter(long key, long firstRow, int dim) {
    Path file = path(key);
    long start = firstRow * dim * Float.BYTES;
    FileChannel channel = null;
    try {
      channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
      BlockCrc crc = continuedChecksums(key, channel, start);
      return new Writer(channel, start, file, checksumPath(key), crc);
    } catch (IOException | RuntimeException e) {
      if (channel != null) {
        try {
          channel.close();
        } catch (IOException suppressed) {
          e.addSuppressed(suppressed);
        }
      }
      if (e instanceof StoreException se) {
        throw se;
      }
      throw e instanceof IOException io ? failure("opening " + file, io, dir) : (RuntimeException) e;
    }
  }

  /**
   * The running block checksums at byte start: the stored checksums of the whole blocks below
   * it, and the bytes of the block start falls in, read back. Null when the stored list does
   * not reach start (it could not be written at start-up): then the stale list is removed and
   * the next start checksums the file.
   */
  private BlockCrc continuedChecksums(long key, FileChannel channel, long start) throws IOException {
    long blockStart = start - start % PoolChecksums.BLOCK_BYTES;
    PoolChecksums stored = PoolChecksums.read(checksumPath(key));
    if (start > 0 && (stored == null || stored.covered() < blockStart
        || stored.crcs().length < blockStart / PoolChecksums.BLOCK_BYTES)) {
      Files.deleteIfExists(checksumPath(key));
      return null;
    }
    BlockCrc crc = new BlockCrc(PoolChecksums.BLOCK_BYTES, start == 0 ? new int[0] : stored.wholeBlocksBelow(blockStart));
    if (start > blockStart) {
      ByteBuffer partial = ByteBuffer.allocate(Math.toIntExact(start - blockStart));
      while (partial.hasRemaining()) {
        if (channel.read(partial, blockStart + partial.position()) < 0) {
          throw new StoreException(path(key) + " ended at byte " + (blockStart + partial.position())
              + ", before its committed rows end at byte " + start);
        }
      }
      crc.update(partial.flip());
    }
    if (stored != null && stored.covered() != start) {
      // A list that still covers an earlier upload which never committed: cut it back before
      // this writer changes those bytes, or a crash before sync() would leave it describing
      // bytes that are no longer there.
      new PoolChecksums(start, crc.checksums()).write(checksumPath(key));
    }
    return crc;
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
    private final long start;
    private final Path checksumFile;
    /** Block checksums of the file up to position; null when the file's checksums are left to the next start. */
    private final BlockCrc crc;
    /** The checksum list as it was at start, put back if this writer's rows are dropped. */
    private final PoolChecksums initial;
    private boolean checksumsWritten;
    private long position;
    private long unflushed;
    private boolean kept;
    private Future<?> flushing = CompletableFuture.completedFuture(null);

    private Writer(FileChannel channel, long position, Path file, Path checksumFile, BlockCrc crc) {
      this.channel = channel;
      this.start = position;
      this.position = position;
      this.file = file;
      this.checksumFile = checksumFile;
      this.crc = crc;
      this.initial = crc == null ? null : new PoolChecksums(crc.length(), crc.checksums());
    }

    public void write(float[] values) {
      write(FloatBuffer.wrap(values));
    }

    /**
     * Appends the values from values' position to its limit (left unchanged), copied once into
     * a borrowed direct buffer in the file's byte order: from a view of the request's bytes
     * that is the only copy before the page cache.
     */
    public void write(FloatBuffer values) {
      FloatBuffer src = values.duplicate();
      int total = src.remaining();
      ByteBuffer buffer = WRITE_BUFFERS.acquire();
      FloatBuffer floats = buffer.asFloatBuffer();
      try {
        while (src.hasRemaining()) {
          int n = Math.min(floats.capacity(), src.remaining());
          floats.clear();
          floats.put(src.slice().limit(n));
          src.position(src.position() + n);
          buffer.clear().limit(n * Float.BYTES);
          writeOut(buffer);
        }
      } catch (IOException e) {
        throw failure("writing embeddings to " + file, e, file.getParent());
      } finally {
        WRITE_BUFFERS.release(buffer);
      }
      flushedInBackground((long) total * Float.BYTES);
    }

    /**
     * Appends little-endian float32 bytes (position to limit, left unchanged; a whole number of
     * floats), copied once into a borrowed direct buffer: the same bytes {@link #write(FloatBuffer)}
     * writes for the same values, as one bulk copy instead of a float-by-float one.
     */
    public void write(ByteBuffer littleEndian) {
      ByteBuffer src = littleEndian.slice();
      int total = src.remaining();
      if (total % Float.BYTES != 0) {
        throw new IllegalArgumentException(total + " bytes is not a whole number of float32 values");
      }
      ByteBuffer buffer = WRITE_BUFFERS.acquire();
      try {
        while (src.hasRemaining()) {
          int n = Math.min(buffer.capacity(), src.remaining());
          buffer.clear();
          buffer.put(src.slice().limit(n));
          src.position(src.position() + n);
          buffer.flip();
          writeOut(buffer);
        }
      } catch (IOException e) {
        throw failure("writing embeddings to " + file, e, file.getParent());
      } finally {
        WRITE_BUFFERS.release(buffer);
      }
      flushedInBackground(total);
    }

    /** Checksums the buffer's remaining bytes and writes them at position. */
    private void writeOut(ByteBuffer buffer) throws IOException {
      if (crc != null) {
        crc.update(buffer);
      }
      while (buffer.hasRemaining()) {
        position += channel.write(buffer, position);
      }
    }

    /** Counts written bytes and starts a background flush every FLUSH_EVERY_BYTES. */
    private void flushedInBackground(long written) {
      unflushed += written;
      if (unflushed >= FLUSH_EVERY_BYTES && flushing.isDone()) {
        unflushed = 0;
        // Best effort: a failure here surfaces again at sync(), which forces once more.
        flushing = FLUSHER.submit(() -> {
          channel.force(false);
          return null;
        });
      }
    }

    /**
     * fdatasync: what was written is on disk when this returns, and so are its block
     * checksums (before the database commits the rows, so committed rows always have them).
     */
    public void sync() {
      try {
        awaitFlush();
        channel.force(false);
        if (crc != null) {
          checksumsWritten = true;
          new PoolChecksums(crc.length(), crc.checksums()).write(checksumFile);
        }
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

    /** The byte after the last one written: the pool file's committed end once the database commits. */
    long end() {
      return position;
    }

    /** The block checksums of the file up to {@link #end()}, or null when they are left to the next start. */
    int[] checksums() {
      return crc == null ? null : crc.checksums();
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
        if (!kept && checksumsWritten) {
          initial.write(checksumFile);
        }
      } catch (IOException e) {
        // Only space is lost (the next upload writes over these bytes); a checksum list that
        // still covers them is checked only as far as the committed rows, and rewritten at the next start.
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
      Files.deleteIfExists(checksumPath(key));
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
