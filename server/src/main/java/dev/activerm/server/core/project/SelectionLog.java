package dev.activerm.server.core.project;

import dev.activerm.server.core.pairs.LongHashSet;
import dev.activerm.server.core.pairs.PairKeys;
import dev.activerm.server.store.SelectionRecord;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A project's stored selections and its pending pairs (chosen, not yet labeled). A chosen
 * pair is pending until a comparison stored after its selection labels it. Guarded by the
 * project lock like the rest of {@link ProjectState}.
 */
public final class SelectionLog {
  private final Map<String, SelectionRecord> byId = new LinkedHashMap<>();
  private final LongHashSet pending = new LongHashSet(16);
  private int nextSeq = 1;
  /** Bumped whenever the pending set changes (part of the derived-state cache key). */
  private long version;

  public int nextSeq() {
    return nextSeq;
  }

  public long version() {
    return version;
  }

  public long pendingCount() {
    return pending.size();
  }

  public long[] pendingKeys() {
    return pending.toSortedArray();
  }

  public boolean isPending(long key) {
    return pending.contains(key);
  }

  public SelectionRecord get(String id) {
    return byId.get(id);
  }

  /** Applies a stored selection: its pairs become pending unless labeled since it was chosen. */
  public void add(SelectionRecord r, ComparisonLog comparisons) {
    byId.put(r.selectionId(), r);
    nextSeq = Math.max(nextSeq, r.seq() + 1);
    LongHashSet labeledSince = new LongHashSet(16);
    for (int i = r.numComparisons(); i < comparisons.size(); i++) {
      labeledSince.add(PairKeys.key(comparisons.aRow(i), comparisons.bRow(i)));
    }
    for (int i = 0; i < r.aRows().length; i++) {
      long k = PairKeys.key(r.aRows()[i], r.bRows()[i]);
      if (!labeledSince.contains(k)) {
        pending.add(k);
      }
    }
    version++;
  }

  /** Rebuilds from the store at start-up (comparisons already loaded). */
  void load(List<SelectionRecord> records, ComparisonLog comparisons) {
    Map<Long, Integer> lastLabel = new HashMap<>();
    for (int i = 0; i < comparisons.size(); i++) {
      lastLabel.put(PairKeys.key(comparisons.aRow(i), comparisons.bRow(i)), i);
    }
    for (SelectionRecord r : records) {
      byId.put(r.selectionId(), r);
      nextSeq = Math.max(nextSeq, r.seq() + 1);
      for (int i = 0; i < r.aRows().length; i++) {
        long k = PairKeys.key(r.aRows()[i], r.bRows()[i]);
        Integer last = lastLabel.get(k);
        if (last == null || last < r.numComparisons()) {
          pending.add(k);
        }
      }
    }
    version++;
  }

  /** Comparisons just stored: resolves the pending pairs they label; returns how many. */
  long resolve(int[] aRows, int[] bRows) {
    long resolved = 0;
    for (int i = 0; i < aRows.length; i++) {
      if (pending.remove(PairKeys.key(aRows[i], bRows[i]))) {
        resolved++;
      }
    }
    if (resolved > 0) {
      version++;
    }
    return resolved;
  }
}
