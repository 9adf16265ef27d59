package dev.activerm.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.activerm.client.ActiveRmClient;
import dev.activerm.client.ActiveRmException;
import dev.activerm.client.Types.Head;
import io.grpc.Status;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The packaged jar with TLS and API keys, set up the way docs/operations.md tells operators to. */
@Timeout(180)
class TlsAndApiKeysIT {
  static final String KEY = "3f1c9a0e5b7d4c2a8e6f1b3d5c7a9e0f";

  @TempDir Path dir;

  static String run(Path workDir, String stdin, String... command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).directory(workDir.toFile()).redirectErrorStream(true).start();
    if (stdin != null) {
      p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
    }
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException(String.join(" ", command) + " failed:\n" + out);
    }
    return out;
  }

  @Test
  void tlsWithScopedKeysEndToEnd() throws Exception {
    run(dir, null, "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        "-keyout", "key.pem", "-out", "cert.pem", "-subj", "/CN=localhost",
        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost");
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String line = run(dir, KEY + "\n", java, "-jar", ServerProcess.jar().toAbsolutePath().toString(),
        "hash-key", "team-a", "team-a/*").strip();
    assertThat(line).startsWith("sha256:").endsWith(" team-a team-a/*").doesNotContain(KEY);
    Files.write(dir.resolve("keys.txt"), List.of(line));

    try (ServerProcess server = ServerProcess.start(dir.resolve("data"),
        "--tls-cert", dir.resolve("cert.pem").toString(), "--tls-key", dir.resolve("key.pem").toString(),
        "--api-keys-file", dir.resolve("keys.txt").toString())) {
      try (ActiveRmClient client = ActiveRmClient.builder().target(server.target())
          .tlsTrust(dir.resolve("cert.pem")).apiKey(KEY).build()) {
        client.createProject("team-a/rm", 4, Head.LINEAR, 1.0);
        assertThat(client.listProjects()).extracting(p -> p.projectId()).containsExactly("team-a/rm");
        ActiveRmException denied = catchThrowableOfType(ActiveRmException.class,
            () -> client.createProject("team-b/rm", 4, Head.LINEAR, 1.0));
        assertThat(denied.code()).isEqualTo(Status.Code.PERMISSION_DENIED);
      }
      try (ActiveRmClient noKey = ActiveRmClient.builder().target(server.target())
          .tlsTrust(dir.resolve("cert.pem")).build()) {
        ActiveRmException e = catchThrowableOfType(ActiveRmException.class, noKey::listProjects);
        assertThat(e.code()).isEqualTo(Status.Code.UNAUTHENTICATED);
      }
      try (ActiveRmClient plaintext = ActiveRmClient.builder().target(server.target()).apiKey(KEY)
          .deadline(Duration.ofSeconds(10)).build()) {
        ActiveRmException e = catchThrowableOfType(ActiveRmException.class, plaintext::listProjects);
        assertThat(e.code()).isEqualTo(Status.Code.UNAVAILABLE);
      }
    }
  }
}
