package dev.activerm.server.store;

import java.io.IOException;
import java.lang.reflect.Field;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.zip.CRC32C;

/**
 * The committed rows of one pool file, served from a read-only memory mapping of the file: the
 * rows live in the page cache, not in the heap, so start-up does not read the pool, a server
 * holds pools larger than its heap, and an idle project costs no heap.
 *
 * <p>Immutable: an upload's commit makes a new map ({@link #extendedBy}) that shares the
 * mappings of the full chunks and maps the new tail, and the project publishes it under its
 * write lock. A reader works on the map it took, whose rows were all synced and committed
 * before the map existed, so it never sees a torn or uncommitted row.
 *
 * <p>Java 17 maps at most 2 GiB per buffer, so the file is mapped in chunks of whole rows (at
 * most {@link #MAX_CHUNK_BYTES}); when the row length allows, a chunk is also a whole number
 * of checksum blocks, so a block is checked from one mapping.
 *
 * <p>Checksums are checked lazily: a {@link PoolChecksums#BLOCK_BYTES} block is checked against
 * its CRC32C the first time a row in it is read, and marked in a bitset so it is checked once.
 * Checking the whole file at start-up would read every byte of every pool before the server
 * serves (seconds per GiB: start-up time would grow with pool size again), and most of a pool
 * may never be read before the next restart. A damaged block still never gives rows: the read
 * that touches it fails with the same message start-up gave before (DATA_LOSS to the caller).
 */
public final class PoolMap {
  /** Largest mapping of one chunk; well under the 2 GiB a MappedByteBuffer can span. */
  static final long MAX_CHUNK_BYTES = 1L << 30;

  private static final int BLOCK_SHIFT = Integer.numberOfTrailingZeros(PoolChecksums.BLOCK_BYTES);

  private final Path file;
  private final int dim;
  private final int rowBytes;
  private final int chunkRows;
  private final int rows;
  private final MappedByteBuffer[] chunks;
  private final FloatBuffer[] floats;
  /** Expected CRC32C of each block's committed bytes. */
  private final int[] crcs;
  /** One bit per block: checked (or written by this process, or checked at start-up). */
  private final AtomicLongArray verified;

  private PoolMap(Path file, int dim, int chunkRows, int rows, MappedByteBuffer[] chunks, int[] crcs,
      AtomicLongArray verified) {
    this.file = file;
    this.dim = dim;
    this.rowBytes = dim * Float.BYTES;
    this.chunkRows = chunkRows;
    this.rows = rows;
    this.chunks = chunks;
    this.floats = new FloatBuffer[chunks.length];
    for (int i = 0; i < chunks.length; i++) {
      floats[i] = chunks[i].duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
    }
    this.crcs = crcs;
    this.verified = verified;
  }

  /** A pool of no rows (nothing is mapped; the file need not exist yet). */
  static PoolMap empty(Path file, int dim, long maxChunkBytes) {
    return new PoolMap(file, dim, chunkRows(dim, maxChunkBytes), 0, new MappedByteBuffer[0], new int[0],
        new AtomicLongArray(0));
  }

  /**
   * Maps the first rows of file. crcs holds the expected checksum of every block of those
   * rows' bytes; the blocks flagged in checkedNow were checked by the caller, the others are
   * checked on first touch.
   */
  static PoolMap map(Path file, int dim, int rows, int[] crcs, boolean[] checkedNow, long maxChunkBytes)
      throws IOException {
    PoolMap empty = empty(file, dim, maxChunkBytes);
    MappedByteBuffer[] chunks = empty.mapChunks(new MappedByteBuffer[0], 0, rows);
    AtomicLongArray verified = new AtomicLongArray(words(crcs.length));
    for (int b = 0; b < checkedNow.length; b++) {
      if (checkedNow[b]) {
        setBit(verified, b);
      }
    }
    return new PoolMap(file, dim, empty.chunkRows, rows, chunks, crcs, verified);
  }

  /**
   * This pool with the rows a synced writer added after it: maps them (so a failure to map
   * comes before the database commits them) and takes the writer's checksums. The blocks the
   * writer wrote count as checked: this process wrote those bytes and checksummed them as it
   * wrote, and the block the old rows ended in was checked at start-up (the tail is checked
   * there, {@link PoolFiles#map}) or written by this process too. Without the writer's
   * checksums (its sidecar could not be kept; the next start recomputes it) the old list is kept.
   */
  public PoolMap extendedBy(PoolFiles.Writer writer) {
    long end = writer.end();
    if (end % rowBytes != 0 || end < (long) rows * rowBytes) {
      throw new IllegalStateException(file + ": writer ends at byte " + end + ", not after a whole row past row " + rows);
    }
    long newRows = end / rowBytes;
    if (newRows > Integer.MAX_VALUE) {
      throw new IllegalStateException(file + ": " + newRows + " rows");
    }
    int[] writerCrcs = writer.checksums();
    int blocks = blocks(end);
    long oldBytes = (long) rows * rowBytes;
    int firstNew = (int) (oldBytes >>> BLOCK_SHIFT); // the block the old rows end in, or the first new one
    int[] newCrcs = writerCrcs != null ? writerCrcs : Arrays.copyOf(crcs, blocks);
    AtomicLongArray bits = new AtomicLongArray(words(blocks));
    for (int b = 0; b < Math.min(firstNew, crcs.length); b++) {
      if (isSet(verified, b)) {
        setBit(bits, b);
      }
    }
    for (int b = firstNew; b < blocks; b++) {
      // Bytes this process wrote (checksummed as it wrote them), and the block the old rows
      // ended in, which start-up checked or this process wrote: nothing left to check.
      setBit(bits, b);
    }
    try {
      MappedByteBuffer[] mapped = mapChunks(chunks, rows, (int) newRows);
      return new PoolMap(file, dim, chunkRows, (int) newRows, mapped, newCrcs, bits);
    } catch (IOException e) {
      throw new StoreException("mapping " + file + " failed: " + e.getMessage(), e);
    }
  }

  public int rows() {
    return rows;
  }

  public int dim() {
    return dim;
  }

  /**
   * Copies row into dst at offset (dim floats), checking the blocks the row lies in first if
   * no read has yet. Safe from any number of threads.
   */
  public void copyRow(int row, float[] dst, int offset) {
    if (row < 0 || row >= rows) {
      throw new IndexOutOfBoundsException("row " + row + " of " + rows);
    }
    long at = (long) row * rowBytes;
    int first = (int) (at >>> BLOCK_SHIFT);
    int last = (int) ((at + rowBytes - 1) >>> BLOCK_SHIFT);
    for (int b = first; b <= last; b++) {
      if (!isSet(verified, b)) {
        check(b);
      }
    }
    floats[row / chunkRows].get((row % chunkRows) * dim, dst, offset, dim);
  }

  /** Checks one block against its checksum; throws a damaged-data StoreException naming the bytes if it differs. */
  private void check(int block) {
    long from = (long) block << BLOCK_SHIFT;
    long end = Math.min(from + PoolChecksums.BLOCK_BYTES, (long) rows * rowBytes);
    long chunkBytes = (long) chunkRows * rowBytes;
    CRC32C crc = new CRC32C();
    for (long p = from; p < end; ) {
      int c = (int) (p / chunkBytes);
      long in = p - c * chunkBytes;
      int n = (int) Math.min(end - p, chunkBytes - in);
      crc.update(chunks[c].slice((int) in, n));
      p += n;
    }
    int computed = (int) crc.getValue();
    if (computed != crcs[block]) {
      throw PoolFiles.mismatch(file, from, end - 1, block, crcs[block], computed);
    }
    setBit(verified, block);
  }

  /** Maps rows [from, to) onto the given chunks (the last one remapped if it grows). */
  private MappedByteBuffer[] mapChunks(MappedByteBuffer[] have, int from, int to) throws IOException {
    if (to == 0) {
      return new MappedByteBuffer[0];
    }
    int count = (to - 1) / chunkRows + 1;
    MappedByteBuffer[] out = Arrays.copyOf(have, count);
    int firstToMap = from / chunkRows; // a partial last chunk is mapped again, longer
    long chunkBytes = (long) chunkRows * rowBytes;
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      for (int c = firstToMap; c < count; c++) {
        long start = c * chunkBytes;
        long len = Math.min(chunkBytes, (long) to * rowBytes - start);
        out[c] = ch.map(FileChannel.MapMode.READ_ONLY, start, len);
      }
    }
    return out;
  }

  /** Rows per chunk: whole rows, and whole checksum blocks when a row length allows it. */
  static int chunkRows(int dim, long maxChunkBytes) {
    long rowBytes = (long) dim * Float.BYTES;
    long lcm = rowBytes / gcd(rowBytes, PoolChecksums.BLOCK_BYTES) * PoolChecksums.BLOCK_BYTES;
    long unit = lcm <= maxChunkBytes ? lcm : rowBytes;
    long bytes = Math.max(unit, maxChunkBytes / unit * unit);
    return (int) Math.min(Integer.MAX_VALUE, bytes / rowBytes);
  }

  private static long gcd(long a, long b) {
    return b == 0 ? a : gcd(b, a % b);
  }

  private static int blocks(long bytes) {
    return (int) ((bytes + PoolChecksums.BLOCK_BYTES - 1) >>> BLOCK_SHIFT);
  }

  private static int words(int bits) {
    return (bits + 63) >>> 6;
  }

  private static boolean isSet(AtomicLongArray bits, int b) {
    return (bits.get(b >>> 6) & (1L << b)) != 0;
  }

  private static void setBit(AtomicLongArray bits, int b) {
    bits.getAndUpdate(b >>> 6, w -> w | (1L << b));
  }

  /**
   * Unmaps this pool's chunks now rather than when the collector finds them, so a deleted
   * project's disk space comes back at once. Only for a map no reader can reach any more (the
   * project was marked deleted under its write lock, and every reader holds its read lock).
   */
  public void release() {
    for (MappedByteBuffer b : chunks) {
      Cleaner.unmap(b);
    }
  }

  /** sun.misc.Unsafe.invokeCleaner, the one way Java 17 offers to unmap a buffer now. */
  private static final class Cleaner {
    private static final sun.misc.Unsafe UNSAFE = unsafe();

    private static sun.misc.Unsafe unsafe() {
      try {
        Field f = sun.misc.Unsafe.class.getDeclaredField("theUnsafe");
        f.setAccessible(true);
        return (sun.misc.Unsafe) f.get(null);
      } catch (ReflectiveOperationException | RuntimeException e) {
        return null; // then the collector unmaps it
      }
    }

    static void unmap(ByteBuffer b) {
      if (UNSAFE != null) {
        UNSAFE.invokeCleaner(b);
      }
    }
  }
}
