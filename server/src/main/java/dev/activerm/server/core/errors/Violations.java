package dev.activerm.server.core.errors;

import java.util.ArrayList;
import java.util.List;

/**
 * Collects field violations while a request is checked, then throws them all at once,
 * so a caller fixes every problem in one round trip. Stops collecting after
 * {@link #MAX_REPORTED} so that one bad million-row upload does not produce a
 * million-line error.
 */
public final class Violations {
  static final int MAX_REPORTED = 20;

  private final List<FieldViolation> items = new ArrayList<>();
  private int total;

  public void add(String field, String description) {
    total++;
    if (items.size() < MAX_REPORTED) {
      items.add(new FieldViolation(field, description));
    }
  }

  /** How many violations were added (including those past the reported ones). */
  public int count() {
    return total;
  }

  public boolean isEmpty() {
    return total == 0;
  }

  /** Throws an exception of the given kind listing every violation, if there are any. */
  public void throwIfAny(ActiveRmException.Kind kind, String summary) {
    if (total == 0) {
      return;
    }
    StringBuilder message = new StringBuilder(summary);
    for (FieldViolation v : items) {
      message.append("\n  ").append(v.field()).append(": ").append(v.description());
    }
    if (total > items.size()) {
      message.append("\n  ... and ").append(total - items.size()).append(" more");
    }
    throw new ActiveRmException(kind, message.toString(), items);
  }
}
