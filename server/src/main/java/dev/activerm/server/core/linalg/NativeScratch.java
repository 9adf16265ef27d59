package dev.activerm.server.core.linalg;

import java.util.ArrayDeque;
import org.bytedeco.javacpp.DoublePointer;

/**
 * Off-heap double blocks kept between calls, up to {@link #RETAINED_BYTES} in all. A fresh
 * multi-MiB malloc is fresh pages from the kernel, and touching them costs about as much as
 * the BLAS call they feed at selection sizes: at T = 4 000 rows and h = 256, filling two
 * fresh 8 MiB blocks took ~5 ms of LaplacianGram's ~21 ms (issue 13, session 10). Blocks are
 * handed out whole and their contents are whatever the last user left: callers overwrite them.
 * Above the bound blocks are freed on release, so an idle server keeps at most that much.
 */
public final class NativeScratch {
  /** Native bytes this pool keeps while idle. */
  static final long RETAINED_BYTES = 32L << 20;
  private static final ArrayDeque<DoublePointer> FREE = new ArrayDeque<>();
  private static long retained;

  private NativeScratch() {}

  /** A block of at least n doubles (its contents undefined); give it back with {@link #release}. */
  public static DoublePointer take(long n) {
    synchronized (FREE) {
      for (var it = FREE.iterator(); it.hasNext();) {
        DoublePointer p = it.next();
        if (p.capacity() >= n) {
          it.remove();
          retained -= 8 * p.capacity();
          return p;
        }
      }
    }
    return new DoublePointer(n);
  }

  /** Returns a block from {@link #take}: kept if it fits under the bound (evicting smaller ones), else freed. */
  public static void release(DoublePointer p) {
    // A caller that moved the position (LaplacianGram's panels do) and did not get to reset it,
    // say on an exception, must not hand the next one a shifted block.
    p.position(0);
    long bytes = 8 * p.capacity();
    synchronized (FREE) {
      if (bytes <= RETAINED_BYTES) {
        while (retained + bytes > RETAINED_BYTES && !FREE.isEmpty()) {
          DoublePointer old = FREE.pollFirst();
          retained -= 8 * old.capacity();
          old.close();
        }
        FREE.addLast(p);
        retained += bytes;
        return;
      }
    }
    p.close();
  }

  /** Native bytes kept now (tests). */
  static long retainedBytes() {
    synchronized (FREE) {
      return retained;
    }
  }
}
