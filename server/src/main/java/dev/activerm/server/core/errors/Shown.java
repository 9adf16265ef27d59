package dev.activerm.server.core.errors;

/**
 * How text a caller sent is shown in log lines and error messages: control characters (line
 * breaks above all, which would forge log lines) escaped as \n, \r, \t or \\uXXXX, and long
 * text cut to a bounded prefix plus its length, so a 1 MB id neither floods the log nor
 * overflows the status trailers a client accepts (8 KiB by default). The one helper for this;
 * every echo of an id or other caller text goes through it.
 */
public final class Shown {
  /** Characters of an id kept in messages and logs (valid ids are at most 256). */
  public static final int ID_CHARS = 128;

  private Shown() {}

  /** An id for a message or log line: escaped, and cut to {@link #ID_CHARS} with its length. */
  public static String id(String id) {
    return text(id, ID_CHARS);
  }

  /** Caller text escaped and cut to max characters, "…(N chars)" marking a cut. */
  public static String text(String s, int max) {
    if (s == null) {
      return "";
    }
    int keep = Math.min(s.length(), max);
    // Do not split a surrogate pair at the cut.
    if (keep < s.length() && keep > 0 && Character.isHighSurrogate(s.charAt(keep - 1))) {
      keep--;
    }
    StringBuilder out = null;
    for (int i = 0; i < keep; i++) {
      char c = s.charAt(i);
      if (needsEscape(c)) {
        if (out == null) {
          out = new StringBuilder(keep + 16).append(s, 0, i);
        }
        out.append(escape(c));
      } else if (out != null) {
        out.append(c);
      }
    }
    String shown = out == null ? s.substring(0, keep) : out.toString();
    return keep < s.length() ? shown + "…(" + s.length() + " chars)" : shown;
  }

  private static boolean needsEscape(char c) {
    // C0 and C1 controls, DEL, and the Unicode line and paragraph separators.
    return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == '\u2028' || c == '\u2029';
  }

  private static String escape(char c) {
    return switch (c) {
      case '\n' -> "\\n";
      case '\r' -> "\\r";
      case '\t' -> "\\t";
      default -> String.format("\\u%04x", (int) c);
    };
  }
}
