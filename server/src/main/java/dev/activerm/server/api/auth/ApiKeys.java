package dev.activerm.server.api.auth;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * The API keys a server accepts, stored hashed: the keys file holds one line per key,
 * {@code sha256:<hex of SHA-256(key)> <name> <scope>}, where scope is {@code admin} or a
 * comma-separated list of project ids and prefixes ending in '*'. '#' starts a comment.
 * {@code java -jar activerm-server.jar hash-key} prints the hash of a key read from stdin.
 */
public final class ApiKeys {
  private final Map<String, Principal> byHash;

  private ApiKeys(Map<String, Principal> byHash) {
    this.byHash = Map.copyOf(byHash);
  }

  public static ApiKeys load(Path file) throws IOException {
    return parse(Files.readAllLines(file, StandardCharsets.UTF_8), file.toString());
  }

  static ApiKeys parse(List<String> lines, String source) {
    Map<String, Principal> out = new HashMap<>();
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i).strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      String[] parts = line.split("\\s+");
      String where = source + " line " + (i + 1) + ": ";
      if (parts.length != 3 || !parts[0].startsWith("sha256:") || parts[0].length() != 7 + 64) {
        throw new IllegalArgumentException(
            where + "expected 'sha256:<64 hex digits> <name> <admin | project,prefix*,...>'");
      }
      String hash = parts[0].substring(7).toLowerCase();
      boolean admin = parts[2].equals("admin");
      List<String> patterns = admin ? List.of() : Arrays.asList(parts[2].split(","));
      if (out.put(hash, new Principal(parts[1], admin, patterns)) != null) {
        throw new IllegalArgumentException(where + "the same key hash appears twice");
      }
    }
    if (out.isEmpty()) {
      throw new IllegalArgumentException(source + " holds no keys; add a line per key or drop --api-keys-file");
    }
    return new ApiKeys(out);
  }

  /** The principal of a presented key, or null. */
  public Principal lookup(String key) {
    return byHash.get(hash(key));
  }

  public int size() {
    return byHash.size();
  }

  /** Lower-case hex SHA-256 of the key's UTF-8 bytes. */
  public static String hash(String key) {
    try {
      return HexFormat.of().formatHex(
          MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JVM lacks SHA-256", e);
    }
  }
}
