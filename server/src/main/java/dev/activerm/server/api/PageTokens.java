package dev.activerm.server.api;

import dev.activerm.server.core.errors.ActiveRmException;
import dev.activerm.server.core.errors.FieldViolation;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * Opaque page tokens: a kind tag and a position, base64url. The tag keeps a token of one
 * list from being replayed against another.
 */
final class PageTokens {
  private PageTokens() {}

  static String encode(String kind, String position) {
    return Base64.getUrlEncoder().withoutPadding()
        .encodeToString((kind + ":" + position).getBytes(StandardCharsets.UTF_8));
  }

  /** Returns null for an empty token (first page). */
  static String decode(String kind, String token) {
    if (token.isEmpty()) {
      return null;
    }
    try {
      String s = new String(Base64.getUrlDecoder().decode(token), StandardCharsets.UTF_8);
      if (s.startsWith(kind + ":")) {
        return s.substring(kind.length() + 1);
      }
    } catch (IllegalArgumentException ignored) {
      // Falls through to the error below.
    }
    throw ActiveRmException.invalid(
        "page_token is not a token from a previous " + kind + " call; pass next_page_token unchanged, or empty for the first page",
        new FieldViolation("page_token", "unrecognised token"));
  }

  static long decodeOffset(String kind, String token) {
    String position = decode(kind, token);
    if (position == null) {
      return 0;
    }
    try {
      long offset = Long.parseLong(position);
      if (offset >= 0) {
        return offset;
      }
    } catch (NumberFormatException ignored) {
      // Falls through to the error below.
    }
    throw ActiveRmException.invalid(
        "page_token is damaged; pass next_page_token unchanged, or empty for the first page",
        new FieldViolation("page_token", "bad position"));
  }
}
