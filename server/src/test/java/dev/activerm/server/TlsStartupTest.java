package dev.activerm.server;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The server's command line with TLS files that cannot work: it exits at start-up with a
 * message saying what to do, and no stack trace. Keys and certificates come from openssl, as
 * docs/operations.md tells operators to make them (and as TlsAndApiKeysIT does).
 */
@Timeout(120)
class TlsStartupTest {
  @TempDir Path dir;

  static void openssl(Path dir, String... args) throws IOException, InterruptedException {
    String[] command = new String[args.length + 1];
    command[0] = "openssl";
    System.arraycopy(args, 0, command, 1, args.length);
    Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IllegalStateException("openssl " + String.join(" ", args) + " failed:\n" + out);
    }
  }

  static void selfSigned(Path dir, String name) throws IOException, InterruptedException {
    openssl(dir, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-keyout", name + "-key.pem",
        "-out", name + "-cert.pem", "-subj", "/CN=" + name);
  }

  record Outcome(int exitCode, String err) {}

  /** Runs the command line; a server that starts instead of exiting fails the test (bounded). */
  Outcome run(String cert, String key) throws Exception {
    StringWriter err = new StringWriter();
    CommandLine cmd = new CommandLine(new Main());
    cmd.setErr(new PrintWriter(err, true));
    CompletableFuture<Integer> exit = CompletableFuture.supplyAsync(() -> cmd.execute(
        "--port", "0", "--data-dir", dir.resolve("data").toString(),
        "--tls-cert", dir.resolve(cert).toString(), "--tls-key", dir.resolve(key).toString()));
    return new Outcome(exit.get(60, TimeUnit.SECONDS), err.toString());
  }

  @Test
  void aKeyOfAnotherCertificateStopsTheStart() throws Exception {
    selfSigned(dir, "a");
    selfSigned(dir, "b");
    Outcome o = run("a-cert.pem", "b-key.pem");
    assertThat(o.exitCode()).isNotZero();
    assertThat(o.err()).contains("is not the key of the certificate").contains("CN=a")
        .contains("openssl x509 -noout -pubkey").doesNotContain("\tat ");
  }

  @Test
  void aPkcs1KeySaysHowToConvertIt() throws Exception {
    selfSigned(dir, "a");
    openssl(dir, "rsa", "-in", "a-key.pem", "-traditional", "-out", "a-pkcs1.pem");
    Outcome o = run("a-cert.pem", "a-pkcs1.pem");
    assertThat(o.exitCode()).isNotZero();
    assertThat(o.err()).contains("'RSA PRIVATE KEY'").contains("openssl pkcs8 -topk8 -nocrypt -in")
        .doesNotContain("\tat ");
  }

  @Test
  void aFileThatIsNoCertificateIsNamed() throws Exception {
    selfSigned(dir, "a");
    Outcome o = run("a-key.pem", "a-key.pem");
    assertThat(o.exitCode()).isNotZero();
    assertThat(o.err()).contains("--tls-cert").contains("is not a PEM certificate chain").doesNotContain("\tat ");
  }

  @Test
  void matchingRsaAndEcPairsPass() throws Exception {
    selfSigned(dir, "a");
    TlsFiles.check(dir.resolve("a-cert.pem"), dir.resolve("a-key.pem"));
    openssl(dir, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
        "-keyout", "ec-key.pem", "-out", "ec-cert.pem", "-subj", "/CN=ec");
    TlsFiles.check(dir.resolve("ec-cert.pem"), dir.resolve("ec-key.pem"));
    // An EC key for an RSA certificate is a mismatch too, named as such.
    TlsFiles.Problem p = org.junit.jupiter.api.Assertions.assertThrows(TlsFiles.Problem.class,
        () -> TlsFiles.check(dir.resolve("a-cert.pem"), dir.resolve("ec-key.pem")));
    assertThat(p.getMessage()).contains("is not a RSA key as the certificate's is");
  }
}
