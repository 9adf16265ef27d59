package dev.activerm.server.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32C;

/**
 * The checksums of one pool file, kept beside it as {@code pools/<key>.crc}: a CRC32C per
 * {@link #BLOCK_BYTES} block of its first {@code covered} bytes (the last block may be
 * partial). Written whole to a temporary file and renamed over the old one, so a crash leaves
 * either the old or the new list, never a mix.
 *
 * <p>Layout (little-endian): magic "ARMCRC1\n", block size (int), covered bytes (long), count
 * (int), count CRC32C values (int), and a CRC32C of everything before it (int), so a damaged
 * sidecar is told apart from a damaged pool file.
 */
record PoolChecksums(long covered, int[] crcs) {
  static final int BLOCK_BYTES = 1 << 20;
  private static final long MAGIC = 0x0a314352434d5241L; // "ARMCRC1\n" read as a little-endian long
  private static final int HEADER_BYTES = 8 + 4 + 8 + 4;

  /** The sidecar at file, or null when there is none. */
  static PoolChecksums read(Path file) {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      return null;
    } catch (IOException e) {
      throw new StoreException("reading " + file + " failed: " + e.getMessage(), e);
    }
    ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    String problem = null;
    int count = -1;
    if (bytes.length < HEADER_BYTES + 4 || b.getLong(0) != MAGIC) {
      problem = "it is not an activerm checksum file";
    } else if (b.getInt(8) != BLOCK_BYTES) {
      problem = "its block size is " + b.getInt(8) + ", this server uses " + BLOCK_BYTES;
    } else {
      count = b.getInt(20);
      if (count < 0 || bytes.length != HEADER_BYTES + 4L * count + 4) {
        problem = "its length does not match its count of " + count + " checksums";
      } else {
        CRC32C check = new CRC32C();
        check.update(bytes, 0, bytes.length - 4);
        if ((int) check.getValue() != b.getInt(bytes.length - 4)) {
          problem = "its own checksum does not match";
        }
      }
    }
    if (problem != null) {
      throw new StoreException(file + " is damaged (" + problem + "). If you trust the pool file beside it, delete "
          + file.getFileName() + " and start again: the server then checksums the pool file as it is. Otherwise"
          + " restore the data dir from a backup (docs/operations.md)");
    }
    long covered = b.getLong(12);
    int[] crcs = new int[count];
    for (int i = 0; i < count; i++) {
      crcs[i] = b.getInt(HEADER_BYTES + 4 * i);
    }
    return new PoolChecksums(covered, crcs);
  }

  /** Replaces the sidecar at file with this list, durably (fsync of the file and of its directory). */
  void write(Path file) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES + 4 * crcs.length + 4).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(MAGIC).putInt(BLOCK_BYTES).putLong(covered).putInt(crcs.length);
    for (int c : crcs) {
      b.putInt(c);
    }
    CRC32C check = new CRC32C();
    check.update(b.array(), 0, b.position());
    b.putInt((int) check.getValue());
    b.flip();
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      while (b.hasRemaining()) {
        ch.write(b);
      }
      ch.force(true);
    }
    try {
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
    }
    try (FileChannel dir = FileChannel.open(file.getParent(), StandardOpenOption.READ)) {
      dir.force(true);
    }
  }

  /** The checksums of blocks that lie wholly below offset (a block boundary or not). */
  int[] wholeBlocksBelow(long offset) {
    int n = (int) Math.min(crcs.length, Math.min(offset, covered) / BLOCK_BYTES);
    return java.util.Arrays.copyOf(crcs, n);
  }
}
