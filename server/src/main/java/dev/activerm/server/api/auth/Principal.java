package dev.activerm.server.api.auth;

import java.util.List;

/**
 * Who is calling: an admin key reaches every project; a scoped key reaches the projects its
 * patterns match (an exact id, or a prefix ending in '*', e.g. "team-a/*").
 */
public record Principal(String name, boolean admin, List<String> patterns) {
  /** When API keys are off, every caller is this. */
  public static final Principal LOCAL = new Principal("local", true, List.of());

  public Principal {
    patterns = List.copyOf(patterns);
  }

  public boolean canAccess(String projectId) {
    if (admin) {
      return true;
    }
    for (String p : patterns) {
      if (p.endsWith("*") ? projectId.startsWith(p.substring(0, p.length() - 1)) : p.equals(projectId)) {
        return true;
      }
    }
    return false;
  }

  /** What this key may reach, for error messages. */
  public String scope() {
    return admin ? "admin" : String.join(",", patterns);
  }
}
