package dev.activerm.server;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The server as a process on this module's class path, as an operator starts it: logback finds
 * LogSetup through its service file and writes the text lines; -Dlogback.configurationFile
 * (the shipped logback-json.xml) still replaces them; ACTIVERM_LOG_LEVEL sets the level.
 */
@Timeout(180)
class LogSetupProcessTest {
  @TempDir Path dir;

  /** Starts the server and returns its output up to and including the first line containing {@code until}. */
  private List<String> linesUntil(String until, List<String> jvmFlags, Map<String, String> env) throws Exception {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(jvmFlags);
    command.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName(),
        "--port", "0", "--data-dir", dir.resolve("data").toString()));
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder.environment().remove(LogSetup.LEVEL_VARIABLE);
    builder.environment().putAll(env);
    Process p = builder.start();
    List<String> lines = new ArrayList<>();
    try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) {
        lines.add(line);
        if (line.contains(until)) {
          return lines;
        }
      }
      throw new AssertionError("the server's output ended before '" + until + "':\n" + String.join("\n", lines));
    } finally {
      p.destroyForcibly();
      p.waitFor(30, TimeUnit.SECONDS);
    }
  }

  @Test
  void theDefaultIsTextAtInfo() throws Exception {
    List<String> lines = linesUntil("activerm listening", List.of(), Map.of());
    assertThat(lines.get(lines.size() - 1)).matches(
        "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z INFO  \\[main\\] d\\.a\\.s\\.ActiveRmServer - "
            + "activerm listening on port \\d+ \\(data dir .*\\)");
    assertThat(lines).anyMatch(l -> l.matches(".* INFO  \\[main\\] d\\.a\\.s\\.c\\.linalg\\.Blas - OpenBLAS .*"));
    // nothing else on stderr: no logback status lines, no warnings about the configuration
    assertThat(lines).allMatch(l -> l.matches("\\d{4}-\\d\\d-\\d\\dT.*"));
  }

  @Test
  void theLevelComesFromActivermLogLevel() throws Exception {
    // The INFO lines (OpenBLAS, projects loaded) come before this WARN line at every start.
    List<String> lines = linesUntil("API keys are off", List.of(), Map.of(LogSetup.LEVEL_VARIABLE, "WARN"));
    assertThat(lines).hasSize(1);
    assertThat(lines.get(0)).contains(" WARN  [main] d.a.s.ActiveRmServer - API keys are off");
  }

  @Test
  void aConfigurationFileStillWins() throws Exception {
    List<String> lines = linesUntil("activerm listening", List.of("-Dlogback.configurationFile=logback-json.xml"), Map.of());
    String listening = lines.get(lines.size() - 1);
    assertThat(listening).startsWith("{").endsWith("}")
        .contains("\"level\":\"INFO\"")
        .contains("\"loggerName\":\"dev.activerm.server.ActiveRmServer\"")
        .contains("\"formattedMessage\":\"activerm listening on port ");
  }
}
