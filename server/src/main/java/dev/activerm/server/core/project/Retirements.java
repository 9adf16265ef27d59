package dev.activerm.server.core.project;

import dev.activerm.server.core.errors.ActiveRmException;
import dev.activerm.server.core.errors.FieldViolation;
import dev.activerm.server.store.SqliteStore;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;

/**
 * RetireResponses: pools turn over. A retired response is never a candidate again (every
 * candidate source leaves it out), but its embedding, its labels and its pending pairs stay,
 * so fits still use it and Score still answers for it.
 */
public final class Retirements {
  public static final int MAX_IDS_PER_CALL = 100_000;

  private final ProjectRegistry registry;
  private final SqliteStore store;
  private final Clock clock;

  public Retirements(ProjectRegistry registry, SqliteStore store, Clock clock) {
    this.registry = registry;
    this.store = store;
    this.clock = clock;
  }

  public record RetireResult(long retired, long alreadyRetired) {}

  /** Retires the responses, all or none (NOT_FOUND naming every unknown id); durable before it returns. */
  public RetireResult retire(String projectId, List<String> ids) {
    ProjectState s = registry.require(projectId);
    if (ids.isEmpty() || ids.size() > MAX_IDS_PER_CALL) {
      throw ActiveRmException.invalid(
          "RetireResponses lists " + ids.size() + " response ids; send 1.." + MAX_IDS_PER_CALL + " per call",
          new FieldViolation("response_ids", "must hold 1.." + MAX_IDS_PER_CALL + " ids"));
    }
    s.lock().writeLock().lock();
    try {
      s.checkNotDeleted();
      int[] rows = RowResolver.rowsOrThrow(s, ids, "response_ids",
          "RetireResponses names responses that are not in project '" + projectId + "'. Nothing was retired:");
      List<Integer> fresh = new ArrayList<>();
      boolean[] seen = new boolean[s.pool().size()];
      long already = 0;
      for (int row : rows) {
        if (seen[row]) {
          continue;
        }
        seen[row] = true;
        if (s.responses().isRetired(row)) {
          already++;
        } else {
          fresh.add(row);
        }
      }
      int[] toRetire = fresh.stream().mapToInt(Integer::intValue).toArray();
      if (toRetire.length > 0) {
        store.retireResponses(s.key(), toRetire, clock.millis());
        for (int row : toRetire) {
          s.responses().retire(row);
        }
      }
      return new RetireResult(toRetire.length, already);
    } finally {
      s.lock().writeLock().unlock();
    }
  }
}
