package dev.activerm.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** A flag value the config refuses ends the start with its message, exit code 2, no stack trace. */
class FlagValueErrorsTest {

  @TempDir Path dir;

  @ParameterizedTest
  @CsvSource({
      "--metrics-port, 70000, '--metrics-port is 70000; use 0..65535'",
      "--flow-control-window-mib, 2000, '--flow-control-window-mib is 2000; use 0'",
      "--flow-control-window-mib, -1, '--flow-control-window-mib is -1; use 0'",
  })
  void aRefusedValueSaysWhatToUse(String flag, String value, String message) throws Exception {
    StringWriter err = new StringWriter();
    CommandLine cmd = Main.commandLine();
    cmd.setErr(new PrintWriter(err, true));
    // Bounded: a server that starts instead of refusing fails the test rather than hanging it.
    int exit = CompletableFuture.supplyAsync(() -> cmd.execute(
        "--port", "0", "--data-dir", dir.resolve("data").toString(), flag, value)).get(60, TimeUnit.SECONDS);
    assertThat(exit).isEqualTo(2);
    assertThat(err.toString()).contains(message).contains("--help").doesNotContain("\tat ");
  }
}
