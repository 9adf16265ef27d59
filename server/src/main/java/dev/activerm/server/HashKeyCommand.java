package dev.activerm.server;

import dev.activerm.server.api.auth.ApiKeys;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code echo -n "$KEY" | java -jar activerm-server.jar hash-key NAME SCOPE} prints the
 * keys-file line for a key; the key itself never has to be stored on the server.
 */
@Command(name = "hash-key", mixinStandardHelpOptions = true,
    description = "Reads an API key from stdin and prints its line for --api-keys-file.")
final class HashKeyCommand implements Callable<Integer> {
  @Parameters(index = "0", description = "A name for the key (shown in logs and errors), e.g. team-a-trainer.")
  String name;

  @Parameters(index = "1", description = "admin, or comma-separated project ids and prefixes ending in '*'.")
  String scope;

  @Override
  public Integer call() throws Exception {
    String key = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
    if (key == null || key.strip().length() < 16) {
      System.err.println("give a key of at least 16 characters on stdin, e.g. openssl rand -hex 32 | tee key.txt | ...");
      return 2;
    }
    System.out.println("sha256:" + ApiKeys.hash(key.strip()) + " " + name + " " + scope);
    return 0;
  }
}
