package dev.activerm.server.core.pairs;

/** An unordered pair of pool rows as one long: min in the high half, max in the low half. */
public final class PairKeys {
  private PairKeys() {}

  public static long key(int a, int b) {
    int lo = Math.min(a, b);
    int hi = Math.max(a, b);
    return ((long) lo << 32) | (hi & 0xffffffffL);
  }

  public static int lo(long key) {
    return (int) (key >>> 32);
  }

  public static int hi(long key) {
    return (int) key;
  }
}
