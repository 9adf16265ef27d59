package dev.activerm.server.core.project;

import dev.activerm.server.core.pairs.LongHashSet;
import dev.activerm.server.core.pairs.PairKeys;
import dev.activerm.server.store.SelectionRecord;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A project's stored selections and its pending pairs. A chosen pair is pending until a
 * comparison stored after its selection labels it, it is released (ReleasePairs), or its
 * selection's pending TTL passes; the state of every pair is a function of the stored rows
 * (selection, released flags, comparisons and their tombstones) and the clock, so a restart
 * rebuilds exactly what was in memory. Deleting a label does not make its pair pending again:
 * it becomes a candidate (see {@link #state}). Guarded by the project lock like the rest of
 * {@link ProjectState}.
 */
public final class SelectionLog {
  /** Where a selected pair is in its lifecycle. */
  public enum PairState { PENDING, LABELED, RELEASED }

  /** One selection in memory: its record and which of its pairs are pending here. */
  public static final class Entry {
    private final SelectionRecord record;
    private final boolean[] pending;
    private int numPending;

    private Entry(SelectionRecord record) {
      this.record = record;
      this.pending = new boolean[record.aRows().length];
    }

    public SelectionRecord record() {
      return record;
    }

    public boolean isPending(int idx) {
      return pending[idx];
    }

    public int numPending() {
      return numPending;
    }

    long key(int idx) {
      return PairKeys.key(record.aRows()[idx], record.bRows()[idx]);
    }
  }

  private final Map<String, Entry> byId = new LinkedHashMap<>();
  private final List<Entry> bySeq = new ArrayList<>();
  private final LongHashSet pending = new LongHashSet(16);
  /** Pending pair key -> the selections (and indices) it is pending in; a pair can be in several. */
  private final Map<Long, List<Ref>> refs = new HashMap<>();
  /** Selections with a TTL and pending pairs left. */
  private final List<Entry> expiring = new ArrayList<>();
  /** Earliest expiry among {@link #expiring} (ms), Long.MAX_VALUE when none; read without the lock. */
  private volatile long nextExpiry = Long.MAX_VALUE;
  private int nextSeq = 1;
  /** Bumped whenever the pending set changes (part of the derived-state cache key). */
  private long version;

  private record Ref(Entry entry, int idx) {}

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
    Entry e = byId.get(id);
    return e == null ? null : e.record;
  }

  public Entry entry(String id) {
    return byId.get(id);
  }

  /** Selections newest first, starting below seq (Integer.MAX_VALUE: from the newest). */
  public List<Entry> newestFirst(int belowSeq, int limit) {
    List<Entry> out = new ArrayList<>();
    for (int i = bySeq.size() - 1; i >= 0 && out.size() < limit; i--) {
      if (bySeq.get(i).record.seq() < belowSeq) {
        out.add(bySeq.get(i));
      }
    }
    return out;
  }

  /** The oldest selection whose record matches, or null. */
  public SelectionRecord oldest(java.util.function.Predicate<SelectionRecord> matches) {
    for (Entry e : bySeq) {
      if (matches.test(e.record)) {
        return e.record;
      }
    }
    return null;
  }

  /** Whether a selection older than seq exists (for the next page token). */
  public boolean anyBelow(int seq) {
    return !bySeq.isEmpty() && bySeq.get(0).record.seq() < seq;
  }

  /** Whether some pending pair's TTL has passed at nowMillis (cheap; no lock needed). */
  public boolean expiryDue(long nowMillis) {
    return nextExpiry <= nowMillis;
  }

  /** Applies a stored selection at commit: all its pairs become pending (nothing labeled them yet). */
  public void add(SelectionRecord r) {
    Entry e = register(r);
    for (int i = 0; i < e.pending.length; i++) {
      makePending(e, i);
    }
    track(e);
    version++;
  }

  /**
   * Rebuilds from the store at start-up (comparisons and their tombstones already loaded):
   * a pair is pending unless a comparison (live or deleted) with seq >= its selection's
   * boundary labels it, it was released, or its TTL passed at nowMillis.
   */
  void load(List<SelectionRecord> records, Map<Integer, List<Integer>> releasedBySeq, ComparisonLog comparisons,
      long nowMillis) {
    Map<Long, Long> lastLabel = new HashMap<>();
    for (int i = 0; i < comparisons.size(); i++) {
      lastLabel.merge(PairKeys.key(comparisons.aRow(i), comparisons.bRow(i)), comparisons.seq(i), Math::max);
    }
    for (SelectionRecord r : records) {
      Entry e = register(r);
      boolean[] released = new boolean[e.pending.length];
      for (int idx : releasedBySeq.getOrDefault(r.seq(), List.of())) {
        released[idx] = true;
      }
      boolean expired = r.expireAtMillis() <= nowMillis;
      for (int i = 0; i < e.pending.length; i++) {
        long k = e.key(i);
        long last = Math.max(lastLabel.getOrDefault(k, -1L), comparisons.deletedMaxSeq(k));
        if (last < r.numComparisons() && !released[i] && !expired) {
          makePending(e, i);
        }
      }
      track(e);
    }
    version++;
  }

  /** Comparisons just stored: resolves the pending pairs they label; returns how many pair keys. */
  long resolve(int[] aRows, int[] bRows) {
    long resolved = 0;
    for (int i = 0; i < aRows.length; i++) {
      long k = PairKeys.key(aRows[i], bRows[i]);
      List<Ref> rs = refs.remove(k);
      if (rs != null) {
        for (Ref ref : rs) {
          ref.entry.pending[ref.idx] = false;
          ref.entry.numPending--;
        }
        pending.remove(k);
        resolved++;
      }
    }
    if (resolved > 0) {
      version++;
    }
    return resolved;
  }

  /** Releases the given pending pairs of one selection (after the store made it durable). */
  public void release(Entry e, int[] indices) {
    for (int idx : indices) {
      unpend(e, idx);
    }
    if (indices.length > 0) {
      version++;
    }
  }

  /** Releases the pending pairs whose TTL passed at nowMillis; returns how many. Caller holds the write lock. */
  public int expire(long nowMillis) {
    if (nextExpiry > nowMillis) {
      return 0;
    }
    int expired = 0;
    long earliest = Long.MAX_VALUE;
    for (int j = expiring.size() - 1; j >= 0; j--) {
      Entry e = expiring.get(j);
      if (e.record.expireAtMillis() <= nowMillis) {
        for (int i = 0; i < e.pending.length; i++) {
          if (e.pending[i]) {
            unpend(e, i);
            expired++;
          }
        }
        expiring.remove(j);
      } else {
        earliest = Math.min(earliest, e.record.expireAtMillis());
      }
    }
    nextExpiry = earliest;
    if (expired > 0) {
      version++;
    }
    return expired;
  }

  /**
   * The state of pair idx of a selection now. liveLastLabel: highest seq of a live comparison
   * of each pair key (keys without one absent). A pair is LABELED while a live label after its
   * selection exists, PENDING while pending, otherwise RELEASED (released, expired, or its
   * label deleted). Caller has applied {@link #expire} for the current time.
   */
  public static PairState state(Entry e, int idx, Map<Long, Long> liveLastLabel) {
    Long last = liveLastLabel.get(e.key(idx));
    if (last != null && last >= e.record.numComparisons()) {
      return PairState.LABELED;
    }
    return e.pending[idx] ? PairState.PENDING : PairState.RELEASED;
  }

  /** Pair keys of these selections, for {@link #liveLastLabel}. */
  public static LongHashSet keysOf(List<Entry> entries) {
    LongHashSet keys = new LongHashSet(16);
    for (Entry e : entries) {
      for (int i = 0; i < e.pending.length; i++) {
        keys.add(e.key(i));
      }
    }
    return keys;
  }

  /** Highest live comparison seq of each of these pair keys that has one. */
  public static Map<Long, Long> liveLastLabel(ComparisonLog comparisons, LongHashSet keys) {
    Map<Long, Long> out = new HashMap<>();
    for (int i = 0; i < comparisons.size(); i++) {
      long k = PairKeys.key(comparisons.aRow(i), comparisons.bRow(i));
      if (keys.contains(k)) {
        out.merge(k, comparisons.seq(i), Math::max);
      }
    }
    return out;
  }

  private Entry register(SelectionRecord r) {
    Entry e = new Entry(r);
    byId.put(r.selectionId(), e);
    bySeq.add(e);
    nextSeq = Math.max(nextSeq, r.seq() + 1);
    return e;
  }

  private void track(Entry e) {
    if (e.numPending > 0 && e.record.pendingTtlMillis() > 0) {
      expiring.add(e);
      nextExpiry = Math.min(nextExpiry, e.record.expireAtMillis());
    }
  }

  private void makePending(Entry e, int idx) {
    long k = e.key(idx);
    e.pending[idx] = true;
    e.numPending++;
    pending.add(k);
    refs.computeIfAbsent(k, x -> new ArrayList<>(1)).add(new Ref(e, idx));
  }

  private void unpend(Entry e, int idx) {
    if (!e.pending[idx]) {
      return;
    }
    e.pending[idx] = false;
    e.numPending--;
    long k = e.key(idx);
    List<Ref> rs = refs.get(k);
    if (rs != null) {
      rs.removeIf(ref -> ref.entry == e && ref.idx == idx);
      if (rs.isEmpty()) {
        refs.remove(k);
        pending.remove(k);
      }
    }
  }
}
