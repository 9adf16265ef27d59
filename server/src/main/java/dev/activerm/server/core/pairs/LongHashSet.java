package dev.activerm.server.core.pairs;

import java.util.Arrays;

/**
 * Open-addressing set of non-negative longs (pair keys), about 16 bytes per element at
 * the default load. No boxing, so a million sampled pairs cost a few MiB, not 60.
 */
public final class LongHashSet {
  private static final long EMPTY = -1L;
  private long[] table;
  private int size;

  public LongHashSet(int expected) {
    int cap = Integer.highestOneBit(Math.max(16, (int) Math.min(1 << 30, expected * 2L)) - 1) << 1;
    table = new long[cap];
    Arrays.fill(table, EMPTY);
  }

  public int size() {
    return size;
  }

  /** Bytes held by the table. */
  public long bytes() {
    return 8L * table.length + 16;
  }

  /** Adds key (>= 0); true if it was not there. */
  public boolean add(long key) {
    if (key < 0) {
      throw new IllegalArgumentException("keys must be >= 0: " + key);
    }
    if (2L * (size + 1) > table.length) {
      grow();
    }
    int mask = table.length - 1;
    int i = slot(key, mask);
    while (table[i] != EMPTY) {
      if (table[i] == key) {
        return false;
      }
      i = (i + 1) & mask;
    }
    table[i] = key;
    size++;
    return true;
  }

  public boolean contains(long key) {
    int mask = table.length - 1;
    int i = slot(key, mask);
    while (table[i] != EMPTY) {
      if (table[i] == key) {
        return true;
      }
      i = (i + 1) & mask;
    }
    return false;
  }

  /** Removes key; true if it was there (backward-shift deletion, no tombstones). */
  public boolean remove(long key) {
    int mask = table.length - 1;
    int i = slot(key, mask);
    while (table[i] != EMPTY) {
      if (table[i] == key) {
        int hole = i;
        int j = (i + 1) & mask;
        while (table[j] != EMPTY) {
          int home = slot(table[j], mask);
          boolean movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
          if (movable) {
            table[hole] = table[j];
            hole = j;
          }
          j = (j + 1) & mask;
        }
        table[hole] = EMPTY;
        size--;
        return true;
      }
      i = (i + 1) & mask;
    }
    return false;
  }

  /** The elements in ascending order. */
  public long[] toSortedArray() {
    long[] out = new long[size];
    int n = 0;
    for (long k : table) {
      if (k != EMPTY) {
        out[n++] = k;
      }
    }
    Arrays.sort(out);
    return out;
  }

  private void grow() {
    long[] old = table;
    table = new long[old.length * 2];
    Arrays.fill(table, EMPTY);
    size = 0;
    for (long k : old) {
      if (k != EMPTY) {
        add(k);
      }
    }
  }

  private static int slot(long key, int mask) {
    long h = key * 0x9E3779B97F4A7C15L;
    return (int) (h ^ (h >>> 32)) & mask;
  }
}
