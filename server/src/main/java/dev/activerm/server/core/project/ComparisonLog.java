package dev.activerm.server.core.project;

import dev.activerm.server.core.pairs.PairKeys;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * A project's live comparisons in memory as parallel primitive arrays (rows of the pool,
 * outcome, weight), in seq order, the form the fitting kernels read; plus what is left of
 * deleted ones (their ids and content, so an id stays taken, and the pairs they labeled).
 *
 * <p>A delete compacts the arrays, so readers keep seeing a dense log. Indices therefore move
 * on delete; anything that must survive one uses seq (monotonic, never reused) or
 * {@link #version()} (bumped on every add and delete, the derived-state cache's labels key:
 * the count alone cannot tell "deleted one, added one" from "nothing changed").
 */
public final class ComparisonLog {
  private static final Outcome[] OUTCOMES = Outcome.values();

  /** The content of a deleted comparison, kept to answer a replayed AddComparisons of its id. */
  public record Deleted(long seq, int aRow, int bRow, Outcome outcome, double weight, String annotator) {}

  private int size;
  private long[] seqs = new long[16];
  private String[] ids = new String[16];
  private int[] aRows = new int[16];
  private int[] bRows = new int[16];
  private byte[] outcomes = new byte[16];
  private double[] weights = new double[16];
  private String[] annotators = new String[16];
  private long[] createMillis = new long[16];
  /** Live ids -> seq. */
  private final Map<String, Long> seqById = new HashMap<>();
  private final Map<String, Deleted> deletedById = new HashMap<>();
  /** Pair key -> highest seq of a deleted comparison of the pair (pending-pair reconstruction). */
  private final Map<Long, Long> deletedMaxSeq = new HashMap<>();
  private long nextSeq;
  private long version;
  private long deletions;

  public int size() {
    return size;
  }

  /** The seq the next stored comparison gets: one past the highest ever stored (deleted ones too). */
  public long nextSeq() {
    return nextSeq;
  }

  /** Bumped on every add and delete. */
  public long version() {
    return version;
  }

  /** Bumped on every delete only (keys of state that depends on older labels, such as a model's posterior). */
  public long deletions() {
    return deletions;
  }

  public void append(long seq, String id, int aRow, int bRow, Outcome outcome, double weight, String annotator,
      long createdAtMillis) {
    if (seq < nextSeq) {
      throw new IllegalStateException("comparison seq " + seq + " after " + (nextSeq - 1));
    }
    if (size == aRows.length) {
      int n = size * 2;
      seqs = Arrays.copyOf(seqs, n);
      ids = Arrays.copyOf(ids, n);
      aRows = Arrays.copyOf(aRows, n);
      bRows = Arrays.copyOf(bRows, n);
      outcomes = Arrays.copyOf(outcomes, n);
      weights = Arrays.copyOf(weights, n);
      annotators = Arrays.copyOf(annotators, n);
      createMillis = Arrays.copyOf(createMillis, n);
    }
    seqs[size] = seq;
    ids[size] = id;
    aRows[size] = aRow;
    bRows[size] = bRow;
    outcomes[size] = (byte) outcome.ordinal();
    weights[size] = weight;
    annotators[size] = annotator;
    createMillis[size] = createdAtMillis;
    seqById.put(id, seq);
    size++;
    nextSeq = seq + 1;
    version++;
  }

  /** A tombstone read at start-up: its id stays taken and its seq is used. */
  void appendDeleted(long seq, String id, int aRow, int bRow, Outcome outcome, double weight, String annotator) {
    deletedById.put(id, new Deleted(seq, aRow, bRow, outcome, weight, annotator));
    deletedMaxSeq.merge(PairKeys.key(aRow, bRow), seq, Math::max);
    nextSeq = Math.max(nextSeq, seq + 1);
  }

  /** Removes the live comparisons at these indices (ascending, distinct), keeping their tombstones. */
  void delete(int[] indices) {
    if (indices.length == 0) {
      return;
    }
    int next = 0;
    int out = 0;
    for (int i = 0; i < size; i++) {
      if (next < indices.length && indices[next] == i) {
        next++;
        seqById.remove(ids[i]);
        deletedById.put(ids[i], new Deleted(seqs[i], aRows[i], bRows[i], outcome(i), weights[i], annotators[i]));
        deletedMaxSeq.merge(PairKeys.key(aRows[i], bRows[i]), seqs[i], Math::max);
        continue;
      }
      seqs[out] = seqs[i];
      ids[out] = ids[i];
      aRows[out] = aRows[i];
      bRows[out] = bRows[i];
      outcomes[out] = outcomes[i];
      weights[out] = weights[i];
      annotators[out] = annotators[i];
      createMillis[out] = createMillis[i];
      out++;
    }
    Arrays.fill(ids, out, size, null);
    Arrays.fill(annotators, out, size, null);
    size = out;
    version++;
    deletions++;
  }

  /** Index of the live comparison with this id, or -1. */
  public int indexOfId(String id) {
    Long seq = seqById.get(id);
    return seq == null ? -1 : Arrays.binarySearch(seqs, 0, size, seq);
  }

  /** The deleted comparison with this id, or null. */
  public Deleted deleted(String id) {
    return deletedById.get(id);
  }

  /** Whether any comparison, live or deleted, has this id. */
  public boolean idTaken(String id) {
    return seqById.containsKey(id) || deletedById.containsKey(id);
  }

  /** Highest seq of a deleted comparison of the pair, or -1. */
  long deletedMaxSeq(long pairKey) {
    return deletedMaxSeq.getOrDefault(pairKey, -1L);
  }

  /** How many live comparisons have seq below this (they are the first ones: the log is in seq order). */
  public int countBelowSeq(long seq) {
    int i = Arrays.binarySearch(seqs, 0, size, seq);
    return i >= 0 ? i : -i - 1;
  }

  public long seq(int i) {
    return seqs[check(i)];
  }

  public String id(int i) {
    return ids[check(i)];
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
