package dev.activerm.server.store;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;

/**
 * A fixed number of direct I/O buffers shared by every pool file writer, lent for one
 * write at a time. Each AddResponses call used to allocate its own 8 MiB direct buffer, freed
 * only when the collector found it: 150 one-row uploads held 1.2 GB of direct memory. Here
 * at most {@link #count()} buffers ever exist; a writer waits (for the few milliseconds one
 * chunk's write takes) only when more writes than that run at the same moment.
 */
final class DirectBuffers {
  private final int bufferBytes;
  private final int max;
  private final ArrayDeque<ByteBuffer> idle = new ArrayDeque<>();
  private int created;

  DirectBuffers(int bufferBytes, int max) {
    this.bufferBytes = bufferBytes;
    this.max = max;
  }

  /** A cleared little-endian buffer, the caller's until {@link #release}. */
  synchronized ByteBuffer acquire() {
    while (idle.isEmpty() && created == max) {
      try {
        wait();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new StoreException("interrupted while waiting for a pool write buffer", e);
      }
    }
    ByteBuffer b = idle.poll();
    if (b == null) {
      b = ByteBuffer.allocateDirect(bufferBytes).order(ByteOrder.LITTLE_ENDIAN);
      created++;
    }
    return b.clear();
  }

  synchronized void release(ByteBuffer b) {
    idle.push(b);
    notify();
  }

  /** At most this many buffers exist: count() * bytes() bounds the direct memory of pool writes. */
  int count() {
    return max;
  }

  int bytes() {
    return bufferBytes;
  }
}
