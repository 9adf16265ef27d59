package dev.activerm.server.core.project;

import java.util.Arrays;

/**
 * A project's comparisons in memory as parallel primitive arrays (rows of the pool,
 * outcome, weight), the form the fitting kernels read. Append-only.
 */
public final class ComparisonLog {
  private static final Outcome[] OUTCOMES = Outcome.values();

  private int size;
  private int[] aRows = new int[16];
  private int[] bRows = new int[16];
  private byte[] outcomes = new byte[16];
  private double[] weights = new double[16];
  private String[] annotators = new String[16];
  private long[] createMillis = new long[16];

  public int size() {
    return size;
  }

  public void append(int aRow, int bRow, Outcome outcome, double weight, String annotator, long createdAtMillis) {
    if (size == aRows.length) {
      int n = size * 2;
      aRows = Arrays.copyOf(aRows, n);
      bRows = Arrays.copyOf(bRows, n);
      outcomes = Arrays.copyOf(outcomes, n);
      weights = Arrays.copyOf(weights, n);
      annotators = Arrays.copyOf(annotators, n);
      createMillis = Arrays.copyOf(createMillis, n);
    }
    aRows[size] = aRow;
    bRows[size] = bRow;
    outcomes[size] = (byte) outcome.ordinal();
    weights[size] = weight;
    annotators[size] = annotator;
    createMillis[size] = createdAtMillis;
    size++;
  }

  public int aRow(int i) {
    return aRows[check(i)];
  }

  public int bRow(int i) {
    return bRows[check(i)];
  }

  public Outcome outcome(int i) {
    return OUTCOMES[outcomes[check(i)]];
  }

  public double weight(int i) {
    return weights[check(i)];
  }

  public String annotator(int i) {
    return annotators[check(i)];
  }

  public long createMillis(int i) {
    return createMillis[check(i)];
  }

  private int check(int i) {
    if (i < 0 || i >= size) {
      throw new IndexOutOfBoundsException("comparison " + i + " of " + size);
    }
    return i;
  }
}
