package dev.activerm.server.core.project;

import dev.activerm.server.core.errors.Shown;
import dev.activerm.server.core.errors.ActiveRmException;
import dev.activerm.server.core.errors.FieldViolation;

/** The identifier rule shared by projects, responses, prompts and annotators. */
public final class Identifiers {
  public static final int MAX_LENGTH = 256;
  static final String RULE =
      "1 to " + MAX_LENGTH + " characters of letters, digits and ._:/@+=-";

  private Identifiers() {}

  /** Returns null when the id is valid, else a sentence saying what is wrong. */
  public static String problem(String id) {
    if (id == null || id.isEmpty()) {
      return "is empty; give " + RULE;
    }
    if (id.length() > MAX_LENGTH) {
      return "is " + id.length() + " characters long; the limit is " + MAX_LENGTH;
    }
    for (int i = 0; i < id.length(); i++) {
      char c = id.charAt(i);
      boolean ok =
          (c >= 'a' && c <= 'z')
              || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9')
              || ".:_/@+=-".indexOf(c) >= 0;
      if (!ok) {
        return "has the character "
            + describe(c)
            + " at position "
            + i
            + "; use only "
            + RULE;
      }
    }
    return null;
  }

  /** Checks one id and throws INVALID_ARGUMENT naming the field when it is bad. */
  public static String require(String field, String id) {
    String problem = problem(id);
    if (problem != null) {
      throw ActiveRmException.invalid(
          field + " " + problem, new FieldViolation(field, problem));
    }
    return id;
  }

  private static String describe(char c) {
    if (c < 0x20 || c == 0x7f) {
      return String.format("U+%04X (a control character)", (int) c);
    }
    if (c == ' ') {
      return "' ' (space)";
    }
    return "'" + Shown.text(String.valueOf(c), 1) + "'";
  }
}
