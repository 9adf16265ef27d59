package dev.activerm.server.store;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.zip.CRC32C;

/**
 * CRC32C of consecutive {@link PoolChecksums#BLOCK_BYTES} blocks of a byte stream, fed in
 * pieces of any size: a piece that crosses a block boundary is split there. Starts at a block
 * boundary with the checksums of the blocks before it already known.
 */
final class BlockCrc {
  private final int blockBytes;
  private int[] done;
  private int count;
  private final CRC32C current = new CRC32C();
  private long inCurrent;

  BlockCrc(int blockBytes, int[] before) {
    this.blockBytes = blockBytes;
    this.done = Arrays.copyOf(before, Math.max(16, before.length * 2));
    this.count = before.length;
  }

  /** Adds the buffer's remaining bytes; leaves the buffer's position where it was. */
  void update(ByteBuffer bytes) {
    ByteBuffer view = bytes.duplicate();
    while (view.hasRemaining()) {
      int n = (int) Math.min(view.remaining(), blockBytes - inCurrent);
      int limit = view.limit();
      view.limit(view.position() + n);
      current.update(view); // consumes exactly n bytes
      view.limit(limit);
      inCurrent += n;
      if (inCurrent == blockBytes) {
        if (count == done.length) {
          done = Arrays.copyOf(done, count * 2);
        }
        done[count++] = (int) current.getValue();
        current.reset();
        inCurrent = 0;
      }
    }
  }

  /** Bytes covered so far, counting from the first block. */
  long length() {
    return (long) count * blockBytes + inCurrent;
  }

  /** One checksum per block so far, the last one over a partial block if the length is not a multiple. */
  int[] checksums() {
    int[] out = Arrays.copyOf(done, count + (inCurrent > 0 ? 1 : 0));
    if (inCurrent > 0) {
      out[count] = (int) current.getValue();
    }
    return out;
  }
}
