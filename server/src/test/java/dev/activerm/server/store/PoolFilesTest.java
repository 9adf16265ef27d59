package dev.activerm.server.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Pool files and their block checksums: written as uploads commit, checked on every load. */
class PoolFilesTest {
  static final int DIM = 1000; // 4000-byte rows: 1 MiB checksum blocks end inside rows
  static final long KEY = 7;

  @TempDir Path dataDir;

  static float[] rows(int n, long seed) {
    Random r = new Random(seed);
    float[] out = new float[n * DIM];
    for (int i = 0; i < out.length; i++) {
      out[i] = (float) r.nextGaussian();
    }
    return out;
  }

  /** One committed upload: write, sync, keep (the database committed), close. */
  static void commit(PoolFiles pools, int firstRow, float[] values) {
    try (PoolFiles.Writer w = pools.openWriter(KEY, firstRow, DIM)) {
      w.write(values);
      w.sync();
      w.keep();
    }
  }

  static float[] readAll(PoolFiles pools, int rows) {
    float[] out = new float[rows * DIM];
    int[] at = {0};
    pools.read(KEY, rows, DIM, 97, piece -> {
      int n = piece.remaining();
      piece.get(out, at[0], n);
      at[0] += n;
    });
    assertThat(at[0]).isEqualTo(out.length);
    return out;
  }

  static float[] concat(float[]... parts) {
    int n = 0;
    for (float[] p : parts) {
      n += p.length;
    }
    float[] out = new float[n];
    int at = 0;
    for (float[] p : parts) {
      System.arraycopy(p, 0, out, at, p.length);
      at += p.length;
    }
    return out;
  }

  void flipByte(long offset) throws IOException {
    try (FileChannel ch = FileChannel.open(dataDir.resolve("pools/" + KEY + ".f32"), StandardOpenOption.READ,
        StandardOpenOption.WRITE)) {
      ByteBuffer b = ByteBuffer.allocate(1);
      ch.read(b, offset);
      b.put(0, (byte) (b.get(0) ^ 0x10)).rewind();
      ch.write(b, offset);
    }
  }

  @Test
  void uploadsAcrossBlockBoundariesReadBackAndVerify() {
    PoolFiles pools = new PoolFiles(dataDir);
    float[] a = rows(300, 1); // ends at 1 200 000 bytes: inside block 1
    float[] b = rows(401, 2); // ends at 2 804 000: inside block 2
    float[] c = rows(1, 3); // a single row inside block 2
    commit(pools, 0, a);
    commit(pools, 300, b);
    commit(pools, 701, c);
    assertThat(readAll(pools, 702)).isEqualTo(concat(a, b, c));
    PoolChecksums stored = PoolChecksums.read(dataDir.resolve("pools/" + KEY + ".crc"));
    assertThat(stored.covered()).isEqualTo(702L * DIM * 4);
    assertThat(stored.crcs()).hasSize(3);
  }

  @Test
  void aFlippedByteIsReportedWithTheFileAndItsByteRange() throws IOException {
    PoolFiles pools = new PoolFiles(dataDir);
    commit(pools, 0, rows(300, 1));
    commit(pools, 300, rows(401, 2));
    flipByte(2_500_000); // block 2: bytes 2 097 152 .. 2 803 999

    assertThatThrownBy(() -> readAll(pools, 701))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining(KEY + ".f32")
        .hasMessageContaining("bytes 2097152..2803999")
        .hasMessageContaining("CRC32C")
        .hasMessageContaining("docs/operations.md");
  }

  @Test
  void aPoolWithoutChecksumsGetsThemAtLoadAndIsCheckedFromThenOn() throws IOException {
    PoolFiles pools = new PoolFiles(dataDir);
    float[] a = rows(700, 1);
    commit(pools, 0, a);
    Path crc = dataDir.resolve("pools/" + KEY + ".crc");
    Files.delete(crc); // as a data dir from before checksums

    assertThat(readAll(pools, 700)).isEqualTo(a);
    assertThat(crc).exists();
    flipByte(10);
    assertThatThrownBy(() -> readAll(pools, 700)).hasMessageContaining("bytes 0..1048575");
  }

  @Test
  void anUploadTheDatabaseDidNotCommitLeavesTheCommittedChecksumsValid() {
    PoolFiles pools = new PoolFiles(dataDir);
    float[] a = rows(300, 1);
    commit(pools, 0, a);
    // Synced (checksums written) but never committed: close cuts the rows and their checksums off.
    try (PoolFiles.Writer w = pools.openWriter(KEY, 300, DIM)) {
      w.write(rows(500, 9));
      w.sync();
    }
    assertThat(dataDir.resolve("pools/" + KEY + ".f32")).hasSize(300L * DIM * 4);
    float[] b = rows(100, 2);
    commit(pools, 300, b);
    assertThat(readAll(pools, 400)).isEqualTo(concat(a, b));
  }

  @Test
  void aTailLeftByACrashIsIgnoredAndWrittenOver() {
    PoolFiles pools = new PoolFiles(dataDir);
    float[] a = rows(300, 1);
    commit(pools, 0, a);
    // A crash after the sync, before the database commit: the writer is never closed.
    PoolFiles.Writer crashed = pools.openWriter(KEY, 300, DIM);
    crashed.write(rows(500, 9));
    crashed.sync();

    PoolFiles afterRestart = new PoolFiles(dataDir);
    assertThat(readAll(afterRestart, 300)).isEqualTo(a);
    float[] b = rows(50, 2);
    commit(afterRestart, 300, b);
    assertThat(readAll(afterRestart, 350)).isEqualTo(concat(a, b));
    crashed.close();
  }

  @Test
  void aWriterOverAnUncommittedSyncedUploadCutsItsChecksumsBackFirst() {
    PoolFiles pools = new PoolFiles(dataDir);
    float[] a = rows(300, 1);
    commit(pools, 0, a);
    // Synced but neither committed nor closed (its checksums stay, covering rows 300..799).
    PoolFiles.Writer failed = pools.openWriter(KEY, 300, DIM);
    failed.write(rows(500, 9));
    failed.sync();
    // The next upload overwrites those rows, and the server dies before its own sync.
    PoolFiles.Writer next = pools.openWriter(KEY, 300, DIM);
    next.write(rows(100, 5));

    assertThat(readAll(new PoolFiles(dataDir), 300)).isEqualTo(a);
    next.close();
    failed.close();
  }

  @Test
  void aDamagedChecksumFileIsNamedAndHowToRecoverIsSaid() throws IOException {
    PoolFiles pools = new PoolFiles(dataDir);
    commit(pools, 0, rows(10, 1));
    Path crc = dataDir.resolve("pools/" + KEY + ".crc");
    byte[] bytes = Files.readAllBytes(crc);
    bytes[bytes.length - 6] ^= 1;
    Files.write(crc, bytes);

    assertThatThrownBy(() -> readAll(pools, 10))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining(KEY + ".crc is damaged")
        .hasMessageContaining("delete " + KEY + ".crc");
  }
}
