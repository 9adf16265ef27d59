package dev.activerm.server.core.project;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Response ids and prompt ids of a pool, by row. Prompt ids are interned to dense
 * indices so within-prompt candidate generation can group rows without strings.
 */
public final class ResponseIndex {
  private final List<String> ids;
  private final Map<String, Integer> rowById;
  private final List<String> prompts = new ArrayList<>();
  private final Map<String, Integer> promptIndex = new HashMap<>();
  private int[] promptOfRow;
  /** Retired rows (RetireResponses): never candidates, still labeled and scored. */
  private boolean[] retired;
  private int numRetired;

  public ResponseIndex() {
    this(16);
  }

  /** An empty index sized for rows rows (a project's ids loaded at once). */
  ResponseIndex(int rows) {
    int n = Math.max(16, rows);
    ids = new ArrayList<>(n);
    rowById = new HashMap<>((int) Math.min(Integer.MAX_VALUE, n * 4L / 3 + 1));
    promptOfRow = new int[n];
    retired = new boolean[n];
  }

  public int size() {
    return ids.size();
  }

  public int numPrompts() {
    return prompts.size();
  }

  /** Row of a response id, or -1. */
  public int rowOf(String id) {
    Integer row = rowById.get(id);
    return row == null ? -1 : row;
  }

  public String id(int row) {
    return ids.get(row);
  }

  public String promptId(int row) {
    return prompts.get(promptOfRow[row]);
  }

  /** Dense prompt index of a prompt id (0 .. numPrompts-1), or -1 if no response has it. */
  public int promptIndexOf(String promptId) {
    Integer p = promptIndex.get(promptId);
    return p == null ? -1 : p;
  }

  /** Dense prompt index of a row (0 .. numPrompts-1). */
  public int promptIndex(int row) {
    return promptOfRow[row];
  }

  public void append(List<String> newIds, List<String> newPromptIds) {
    int needed = ids.size() + newIds.size();
    if (needed > promptOfRow.length) {
      promptOfRow = Arrays.copyOf(promptOfRow, Math.max(needed, promptOfRow.length * 2));
      retired = Arrays.copyOf(retired, promptOfRow.length);
    }
    for (int i = 0; i < newIds.size(); i++) {
      int row = ids.size();
      ids.add(newIds.get(i));
      rowById.put(newIds.get(i), row);
      promptOfRow[row] = promptIndex.computeIfAbsent(newPromptIds.get(i), p -> {
        prompts.add(p);
        return prompts.size() - 1;
      });
    }
  }

  /**
   * Appends one row; false (nothing changed) if its id is already in the index, which only a
   * damaged store can produce (uploads refuse stored ids).
   */
  boolean add(String id, String promptId) {
    int row = ids.size();
    if (rowById.putIfAbsent(id, row) != null) {
      return false;
    }
    if (row == promptOfRow.length) {
      promptOfRow = Arrays.copyOf(promptOfRow, row * 2);
      retired = Arrays.copyOf(retired, promptOfRow.length);
    }
    ids.add(id);
    promptOfRow[row] = promptIndex.computeIfAbsent(promptId, p -> {
      prompts.add(p);
      return prompts.size() - 1;
    });
    return true;
  }

  /** The number of distinct prompt ids once newPromptIds are appended. */
  int promptsAfter(List<String> newPromptIds) {
    Set<String> fresh = new HashSet<>();
    for (String p : newPromptIds) {
      if (!promptIndex.containsKey(p)) {
        fresh.add(p);
      }
    }
    return prompts.size() + fresh.size();
  }

  public boolean isRetired(int row) {
    return retired[row];
  }

  public int numRetired() {
    return numRetired;
  }

  /** Marks a row retired; false if it already was. */
  boolean retire(int row) {
    if (retired[row]) {
      return false;
    }
    retired[row] = true;
    numRetired++;
    return true;
  }
}
