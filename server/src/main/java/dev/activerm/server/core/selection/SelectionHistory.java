package dev.activerm.server.core.selection;

import dev.activerm.server.core.errors.ActiveRmException;
import dev.activerm.server.core.errors.FieldViolation;
import dev.activerm.server.core.project.Identifiers;
import dev.activerm.server.core.project.ProjectRegistry;
import dev.activerm.server.core.project.ProjectState;
import dev.activerm.server.core.project.SelectionLog;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.Lock;

/** GetSelection and ListSelections: selections read back with each pair's state, under the read lock. */
final class SelectionHistory {
  private final ProjectRegistry registry;

  SelectionHistory(ProjectRegistry registry) {
    this.registry = registry;
  }

  SelectionInfo get(String projectId, String selectionId) {
    ProjectState s = registry.require(projectId);
    Identifiers.require("selection_id", selectionId);
    registry.expirePending(s);
    Lock l = s.readLock();
    try {
      SelectionLog.Entry e = require(s, selectionId);
      List<SelectionLog.Entry> one = List.of(e);
      return SelectionRecords.info(s, e, SelectionLog.liveLastLabel(s.comparisons(), SelectionLog.keysOf(one)), true);
    } finally {
      l.unlock();
    }
  }

  static final int MAX_LIST_PAGE = 1000;

  /** ListSelections: newest first from below seq belowSeq (0: from the newest), with counts. */
  Selections.SelectionPage list(String projectId, long belowSeq, int pageSize, boolean withPairs) {
    ProjectState s = registry.require(projectId);
    int size = pageSize == 0 ? 100 : pageSize;
    if (size < 1 || size > MAX_LIST_PAGE) {
      throw ActiveRmException.invalid("page_size is " + pageSize + "; use 1.." + MAX_LIST_PAGE + " (0 means 100)",
          new FieldViolation("page_size", "must be 0.." + MAX_LIST_PAGE));
    }
    registry.expirePending(s);
    Lock l = s.readLock();
    try {
      int below = belowSeq <= 0 || belowSeq > Integer.MAX_VALUE ? Integer.MAX_VALUE : (int) belowSeq;
      List<SelectionLog.Entry> entries = s.selections().newestFirst(below, size);
      Map<Long, Long> last = SelectionLog.liveLastLabel(s.comparisons(), SelectionLog.keysOf(entries));
      List<SelectionInfo> out = new ArrayList<>(entries.size());
      for (SelectionLog.Entry e : entries) {
        out.add(SelectionRecords.info(s, e, last, withPairs));
      }
      int oldest = entries.isEmpty() ? 0 : entries.get(entries.size() - 1).record().seq();
      boolean more = entries.size() == size && s.selections().anyBelow(oldest);
      return new Selections.SelectionPage(out, more ? oldest : -1);
    } finally {
      l.unlock();
    }
  }

  /** The selection, or NOT_FOUND saying where selection ids come from. */
  static SelectionLog.Entry require(ProjectState s, String selectionId) {
    SelectionLog.Entry e = s.selections().entry(selectionId);
    if (e == null) {
      throw ActiveRmException.notFound(
          "selection '" + selectionId + "' does not exist in project '" + s.spec().id()
              + "'; use the selection_id returned by SelectBatch (ListSelections shows them)",
          new FieldViolation("selection_id", "no selection '" + selectionId + "'"));
    }
    return e;
  }

}
