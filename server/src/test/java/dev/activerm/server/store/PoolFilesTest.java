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

  /** Maps the pool (in chunks of 97 rows, so rows come from several mappings) and reads every row. */
  static float[] readAll(PoolFiles pools, int rows) {
    return readAll(pools.map(KEY, rows, DIM, 97L * DIM * 4), rows);
  }

  static float[] readAll(PoolMap map, int rows) {
    assertThat(map.rows()).isEqualTo(rows);
    float[] out = new float[rows * DIM];
    for (int r = 0; r < rows; r++) {
      map.copyRow(r, out, r * DIM);
    }
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

  /**
   * The byte path (an upload's request bytes) writes what the float path writes: the same file
   * and checksums, across write-buffer (8 MiB) and checksum-block (1 MiB) boundaries, from a
   * read-only buffer whose position is not 0.
   */
  @Test
  void writingLittleEndianBytesGivesTheSameFileAndChecksumsAsWritingFloats(@TempDir Path other) throws IOException {
    float[] a = rows(2500, 3); // 10 MB: two write-buffer loads
    float[] b = rows(301, 4);
    ByteBuffer aBytes = ByteBuffer.allocate(12 + a.length * 4).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    aBytes.position(12);
    aBytes.asFloatBuffer().put(a);
    ByteBuffer bBytes = ByteBuffer.allocate(b.length * 4).order(java.nio.ByteOrder.BIG_ENDIAN); // its order is ignored
    bBytes.duplicate().order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer().put(b);
    PoolFiles floats = new PoolFiles(dataDir);
    commit(floats, 0, a);
    commit(floats, 2500, b);
    PoolFiles bytes = new PoolFiles(other);
    ByteBuffer aView = aBytes.asReadOnlyBuffer().position(12);
    for (var part : new Object[][] {{0, aView}, {2500, bBytes.asReadOnlyBuffer()}}) {
      ByteBuffer view = (ByteBuffer) part[1];
      try (PoolFiles.Writer w = bytes.openWriter(KEY, (int) part[0], DIM)) {
        w.write(view);
        w.sync();
        w.keep();
      }
      assertThat(view.position()).isEqualTo(part[0].equals(0) ? 12 : 0);
    }
    assertThat(Files.readAllBytes(bytes.path(KEY))).isEqualTo(Files.readAllBytes(floats.path(KEY)));
    assertThat(Files.readAllBytes(bytes.checksumPath(KEY))).isEqualTo(Files.readAllBytes(floats.checksumPath(KEY)));
    assertThat(readAll(bytes, 2801)).isEqualTo(concat(a, b));
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

  @Test
  void aDamagedBlockInsideThePoolPassesStartUpButFailsTheFirstReadOfItsRowsNeverGivingThem() throws IOException {
    PoolFiles pools = new PoolFiles(dataDir);
    float[] a = rows(1048, 1); // 4 192 000 bytes: blocks 0..2 whole, block 3 partial
    commit(pools, 0, a);
    flipByte(1_500_000); // block 1: bytes 1 048 576 .. 2 097 151, rows 262..524

    // Start-up checks only the tail block; the damaged block is found when a read touches it.
    PoolMap map = pools.map(KEY, 1048, DIM, 97L * DIM * 4);
    float[] row = new float[DIM];
    map.copyRow(0, row, 0);
    assertThat(row).isEqualTo(java.util.Arrays.copyOfRange(a, 0, DIM));
    map.copyRow(1047, row, 0);
    assertThat(row).isEqualTo(java.util.Arrays.copyOfRange(a, 1047 * DIM, 1048 * DIM));
    float[] untouched = new float[DIM];
    for (int r : new int[] {262, 375, 524}) {
      assertThatThrownBy(() -> map.copyRow(r, untouched, 0))
          .isInstanceOfSatisfying(StoreException.class, e -> assertThat(e.damaged()).isTrue())
          .hasMessageContaining("pools/" + KEY + ".f32 under --data-dir: bytes 1048576..2097151 (rows of block 1)")
          .hasMessageContaining("CRC32C")
          .hasMessageContaining("docs/operations.md");
    }
    // Row 262 starts in block 0 and ends in block 1: no part of it was copied.
    assertThat(untouched).containsOnly(0f);
    // The failure is not remembered as checked: every later read fails the same way.
    assertThatThrownBy(() -> map.copyRow(300, untouched, 0)).hasMessageContaining("rows of block 1");
  }

  @Test
  void rowsAppendedAfterTheMapAreServedByTheExtendedMapAndTheOldMapKeepsItsRows() {
    PoolFiles pools = new PoolFiles(dataDir);
    float[] a = rows(300, 1);
    commit(pools, 0, a);
    PoolMap before = pools.map(KEY, 300, DIM, 97L * DIM * 4);
    float[] b = rows(401, 2);
    PoolMap after;
    try (PoolFiles.Writer w = pools.openWriter(KEY, 300, DIM)) {
      w.write(b);
      w.sync();
      after = before.extendedBy(w);
      w.keep();
    }
    assertThat(readAll(after, 701)).isEqualTo(concat(a, b));
    assertThat(readAll(before, 300)).isEqualTo(a);
    // And from an empty pool (a new project's first upload).
    PoolMap empty = pools.map(8, 0, DIM);
    assertThat(empty.rows()).isZero();
    // The extended map's checksums are the ones the next start checks.
    assertThat(readAll(new PoolFiles(dataDir), 701)).isEqualTo(concat(a, b));
  }

  @Test
  void aDamagedBlockOfAnExtendedMapIsStillFoundOnFirstRead() throws IOException {
    PoolFiles pools = new PoolFiles(dataDir);
    float[] a = rows(1048, 1);
    commit(pools, 0, a);
    PoolMap before = pools.map(KEY, 1048, DIM);
    flipByte(10); // block 0, never read through before
    PoolMap after;
    try (PoolFiles.Writer w = pools.openWriter(KEY, 1048, DIM)) {
      w.write(rows(10, 2));
      w.sync();
      after = before.extendedBy(w);
      w.keep();
    }
    assertThatThrownBy(() -> after.copyRow(0, new float[DIM], 0)).hasMessageContaining("bytes 0..1048575");
  }

  @Test
  void chunksHoldWholeRowsAndWholeChecksumBlocksWhenTheRowLengthAllows() {
    assertThat(PoolMap.chunkRows(1024, PoolMap.MAX_CHUNK_BYTES) * 4096L).isEqualTo(PoolMap.MAX_CHUNK_BYTES);
    long bytes768 = PoolMap.chunkRows(768, PoolMap.MAX_CHUNK_BYTES) * 3072L;
    assertThat(bytes768 % PoolChecksums.BLOCK_BYTES).isZero();
    assertThat(bytes768).isLessThanOrEqualTo(PoolMap.MAX_CHUNK_BYTES);
    // A row length whose multiple with the block size is past the chunk bound: whole rows only.
    long bytesPrime = PoolMap.chunkRows(65521, PoolMap.MAX_CHUNK_BYTES) * 65521L * 4;
    assertThat(bytesPrime % (65521L * 4)).isZero();
    assertThat(bytesPrime).isLessThanOrEqualTo(PoolMap.MAX_CHUNK_BYTES);
  }
}
