package dev.activerm.it;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * A size-limited tmpfs mounted for one test, and a filler file that takes every free byte
 * of it (a full disk) until {@link #free()}. Mounting needs root: without it the test is
 * skipped with the reason, unless ACTIVERM_REQUIRE_DISKFULL=1 (set by .ci/run), which
 * turns the skip into a failure.
 */
final class SmallFileSystem implements AutoCloseable {
  static final String REQUIRE = "ACTIVERM_REQUIRE_DISKFULL";

  private final Path dir;
  private final Path filler;
  private boolean mounted;

  private SmallFileSystem(Path dir) {
    this.dir = dir;
    this.filler = dir.resolve("filler");
  }

  /** Mounts a tmpfs of sizeMiB at dir (created if needed), or skips / fails the test saying why not. */
  static SmallFileSystem mount(Path dir, int sizeMiB) throws IOException, InterruptedException {
    Files.createDirectories(dir);
    SmallFileSystem fs = new SmallFileSystem(dir);
    String problem = run("mount", "-t", "tmpfs", "-o", "size=" + sizeMiB + "m", "tmpfs", dir.toString());
    if (problem != null) {
      String why = "cannot mount a " + sizeMiB + " MiB tmpfs at " + dir + " (needs root and mount): " + problem;
      if ("1".equals(System.getenv(REQUIRE))) {
        fail(REQUIRE + "=1 but " + why);
      }
      Assumptions.abort("disk-full test skipped: " + why);
    }
    fs.mounted = true;
    return fs;
  }

  Path dir() {
    return dir;
  }

  /** Writes the filler until the file system refuses a single byte more. */
  void fill() throws IOException {
    byte[] block = new byte[64 << 10];
    try (OutputStream out = Files.newOutputStream(filler)) {
      for (int size = block.length; size >= 1; size /= 2) {
        try {
          while (true) {
            out.write(block, 0, size);
          }
        } catch (IOException full) {
          // Try smaller pieces, down to one byte.
        }
      }
    } catch (IOException closingOnAFullDisk) {
      // Nothing left to flush.
    }
    try (OutputStream out = Files.newOutputStream(filler, java.nio.file.StandardOpenOption.APPEND)) {
      out.write(block, 0, 4096);
      out.flush();
      fail("the file system still took 4 KiB after filling it");
    } catch (IOException expected) {
      // Full.
    }
  }

  /** Gives the filler's space back. */
  void free() throws IOException {
    Files.deleteIfExists(filler);
  }

  @Override
  public void close() throws IOException, InterruptedException {
    if (!mounted) {
      return;
    }
    String problem = run("umount", dir.toString());
    if (problem != null) {
      // Something still holds a file there (a server that has not quite exited): detach it.
      problem = run("umount", "-l", dir.toString());
    }
    mounted = false;
    if (problem != null) {
      throw new IOException("cannot unmount " + dir + ": " + problem);
    }
  }

  /** Runs a command; null when it succeeded, else what went wrong. */
  private static String run(String... command) throws InterruptedException {
    try {
      Process p = new ProcessBuilder(List.of(command)).redirectErrorStream(true).start();
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return String.join(" ", command) + " did not finish in 30 s";
      }
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
      return p.exitValue() == 0 ? null : String.join(" ", command) + " exited " + p.exitValue() + ": " + out;
    } catch (IOException e) {
      return String.join(" ", command) + ": " + e.getMessage();
    }
  }
}
