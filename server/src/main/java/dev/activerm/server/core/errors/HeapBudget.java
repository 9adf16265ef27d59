package dev.activerm.server.core.errors;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;

/**
 * Refuses a computation up front when its estimated working memory does not fit in the heap,
 * instead of letting it die in an OutOfMemoryError half-way (which can hit any other call that
 * allocates at the same moment). Free heap = -Xmx minus the live heap after the last GC (what
 * current garbage does not count against), minus a margin of max(64 MiB, 10% of -Xmx) for the
 * rest of the server.
 */
public final class HeapBudget {
  private static final long MIB = 1L << 20;

  private HeapBudget() {}

  /** a * b for sizes >= 0, saturating at Long.MAX_VALUE (an estimate must not wrap around). */
  public static long mul(long a, long b) {
    if (a == 0 || b == 0) {
      return 0;
    }
    return a > Long.MAX_VALUE / b ? Long.MAX_VALUE : a * b;
  }

  /** a + b for sizes >= 0, saturating at Long.MAX_VALUE. */
  public static long sat(long a, long b) {
    long r = a + b;
    return r < 0 ? Long.MAX_VALUE : r;
  }

  /** Heap bytes a new computation may use now. */
  public static long available() {
    Runtime rt = Runtime.getRuntime();
    long max = rt.maxMemory();
    return max - liveHeap(rt) - margin(max);
  }

  static long margin(long max) {
    return Math.max(64 * MIB, max / 10);
  }

  /** Used heap after the last collection of each heap pool, or the current use before any GC. */
  private static long liveHeap(Runtime rt) {
    long current = rt.totalMemory() - rt.freeMemory();
    long afterGc = 0;
    boolean collected = false;
    for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() != MemoryType.HEAP) {
        continue;
      }
      MemoryUsage u = pool.getCollectionUsage();
      if (u != null && u.getUsed() > 0) {
        collected = true;
        afterGc += u.getUsed();
      }
    }
    return collected ? Math.min(current, afterGc) : current;
  }

  /**
   * RESOURCE_EXHAUSTED when bytes (an estimate; Long.MAX_VALUE for "overflows a long") exceed
   * what is available: says what needed how much, what the server has, and fix (the knob to
   * lower). Nothing has been allocated or stored when this throws.
   */
  public static void require(long bytes, String what, String fix) {
    require(bytes, available(), Runtime.getRuntime().maxMemory(), what, fix);
  }

  static void require(long bytes, long available, long max, String what, String fix) {
    if (bytes <= available) {
      return;
    }
    throw ActiveRmException.resourceExhausted(what + " needs about " + mib(bytes) + " of working memory and the"
        + " server has about " + mib(Math.max(0, available)) + " free (heap -Xmx " + mib(max) + "); " + fix
        + ", or give the server more heap (-Xmx). Nothing was computed or stored");
  }

  private static String mib(long bytes) {
    return bytes == Long.MAX_VALUE ? "more than 8 EiB" : (bytes + MIB - 1) / MIB + " MiB";
  }
}
