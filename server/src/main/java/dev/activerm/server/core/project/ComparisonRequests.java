package dev.activerm.server.core.project;

import dev.activerm.server.core.errors.ActiveRmException;
import dev.activerm.server.core.errors.FieldViolation;
import dev.activerm.server.core.errors.Shown;
import dev.activerm.server.core.errors.Violations;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What an AddComparisons request may hold (checked whole before anything is stored), how a
 * retried comparison compares with the stored one of the same id, and the ids the server
 * assigns.
 */
final class ComparisonRequests {
  private ComparisonRequests() {}

  /** "c-<seq>", or with a suffix when a client already took that id. */
  static String assignedId(ComparisonLog log, long seq, Set<String> requested) {
    String id = Comparisons.ASSIGNED_PREFIX + seq;
    for (int n = 1; log.idTaken(id) || requested.contains(id); n++) {
      id = Comparisons.ASSIGNED_PREFIX + seq + "." + n;
    }
    return id;
  }

  /** The first field in which a request's comparison differs from the stored one, or null if none. */
  static String difference(int a, int b, Outcome o, double w, String who, int sa, int sb, Outcome so,
      double sw, String swho, ProjectState s) {
    if (a != sa) {
      return "a_id '" + s.responses().id(sa) + "'; this call says '" + s.responses().id(a) + "'";
    }
    if (b != sb) {
      return "b_id '" + s.responses().id(sb) + "'; this call says '" + s.responses().id(b) + "'";
    }
    if (o != so) {
      return "outcome OUTCOME_" + so + "; this call says OUTCOME_" + o;
    }
    if (Double.compare(w, sw) != 0) {
      return "weight " + sw + "; this call says " + w;
    }
    if (!who.equals(swho)) {
      return "annotator_id '" + swho + "'; this call says '" + who + "'";
    }
    return null;
  }

  static void check(List<ComparisonInput> inputs) {
    if (inputs.isEmpty() || inputs.size() > Comparisons.MAX_COMPARISONS_PER_CALL) {
      throw ActiveRmException.invalid(
          "AddComparisons carries " + inputs.size() + " comparisons; send 1.." + Comparisons.MAX_COMPARISONS_PER_CALL
              + " per call (split larger sets)",
          new FieldViolation("comparisons", "must hold 1.." + Comparisons.MAX_COMPARISONS_PER_CALL + " items"));
    }
    Violations invalid = new Violations();
    Map<String, Integer> firstWithId = new HashMap<>();
    for (int i = 0; i < inputs.size(); i++) {
      ComparisonInput c = inputs.get(i);
      String f = "comparisons[" + i + "]";
      String pa = Identifiers.problem(c.aId());
      if (pa != null) {
        invalid.add(f + ".a_id", pa);
      }
      String pb = Identifiers.problem(c.bId());
      if (pb != null) {
        invalid.add(f + ".b_id", pb);
      }
      if (pa == null && c.aId().equals(c.bId())) {
        invalid.add(f + ".b_id", "equals a_id ('" + Shown.id(c.aId()) + "'); a response cannot be compared with itself");
      }
      if (c.outcome() == null) {
        invalid.add(f + ".outcome", "is unset; use OUTCOME_A, OUTCOME_B or OUTCOME_TIE");
      }
      if (c.weight() != 0 && !(c.weight() > 0 && c.weight() <= Comparisons.MAX_WEIGHT)) {
        invalid.add(f + ".weight", "is " + c.weight() + "; use a finite weight in (0, " + Comparisons.MAX_WEIGHT + "] (0 means 1.0)");
      }
      if (!c.annotatorId().isEmpty()) {
        String pn = Identifiers.problem(c.annotatorId());
        if (pn != null) {
          invalid.add(f + ".annotator_id", pn);
        }
      }
      if (!c.comparisonId().isEmpty()) {
        String pi = Identifiers.problem(c.comparisonId());
        Integer first = firstWithId.putIfAbsent(c.comparisonId(), i);
        if (pi != null) {
          invalid.add(f + ".comparison_id", pi);
        } else if (first != null) {
          invalid.add(f + ".comparison_id", "'" + c.comparisonId() + "' is also the id of comparisons[" + first
              + "]; ids are unique in a project");
        }
      }
    }
    invalid.throwIfAny(ActiveRmException.Kind.INVALID_ARGUMENT, "Invalid AddComparisons request; nothing was stored:");
  }
}
