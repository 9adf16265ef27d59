package dev.activerm.server.core.pairs;

/** Candidate pairs as two parallel arrays of pool rows: pair k is (a[k], b[k]). */
public record PairList(int[] a, int[] b) {
  public PairList {
    if (a.length != b.length) {
      throw new IllegalArgumentException("a and b differ in length: " + a.length + " vs " + b.length);
    }
  }

  public int size() {
    return a.length;
  }
}
