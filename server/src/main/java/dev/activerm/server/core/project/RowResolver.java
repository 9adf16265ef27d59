package dev.activerm.server.core.project;

import dev.activerm.server.core.errors.Shown;
import dev.activerm.server.core.errors.ActiveRmException;
import dev.activerm.server.core.errors.Violations;
import java.util.List;

/**
 * Response ids to pool rows, with a NOT_FOUND field violation {@code field[i]suffix} for every
 * id the project does not hold (e.g. "comparisons[3].a_id", "response_ids[0]").
 */
public final class RowResolver {
  private RowResolver() {}

  /** Rows of ids (-1 where unknown), adding a violation {@code field[i]suffix} per unknown id to missing. */
  public static int[] rows(ProjectState s, List<String> ids, String field, String suffix, Violations missing) {
    int[] rows = new int[ids.size()];
    for (int i = 0; i < ids.size(); i++) {
      rows[i] = row(s, ids.get(i), field + "[" + i + "]" + suffix, missing);
    }
    return rows;
  }

  /** The row of one id (-1 if unknown, with a violation on the named field). */
  public static int row(ProjectState s, String id, String field, Violations missing) {
    int row = s.responses().rowOf(id);
    if (row < 0) {
      missing.add(field, "'" + Shown.id(id) + "' is not a response of project '" + s.spec().id() + "'");
    }
    return row;
  }

  /** Rows of ids; NOT_FOUND with summary and every unknown id if any. */
  public static int[] rowsOrThrow(ProjectState s, List<String> ids, String field, String summary) {
    Violations missing = new Violations();
    int[] rows = rows(s, ids, field, "", missing);
    missing.throwIfAny(ActiveRmException.Kind.NOT_FOUND, summary);
    return rows;
  }
}
