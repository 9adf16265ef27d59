package dev.activerm.server.store;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Consumer;

/**
 * A run of ids packed into one BLOB: per id, its UTF-8 length as an unsigned LEB128 varint,
 * then its bytes. One BLOB per upload batch replaces one database row (and one index entry)
 * per id: SQLite writes a few hundred KB once instead of 20 000 B-tree inserts, and reading
 * a million ids back is a scan of a few dozen BLOBs.
 */
final class IdBlob {
  private IdBlob() {}

  static byte[] encode(List<String> ids, int from, int to) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(Math.max(16, (to - from) * 16));
    for (int i = from; i < to; i++) {
      byte[] b = ids.get(i).getBytes(StandardCharsets.UTF_8);
      int n = b.length;
      while (n >= 0x80) {
        out.write((n & 0x7f) | 0x80);
        n >>>= 7;
      }
      out.write(n);
      out.write(b, 0, b.length);
    }
    return out.toByteArray();
  }

  /**
   * Calls sink with each of the count ids in blob, in order. Throws IllegalArgumentException,
   * saying where, if the blob does not hold exactly count well-formed ids (a damaged database).
   */
  static void decode(byte[] blob, int count, Consumer<String> sink) {
    int p = 0;
    for (int i = 0; i < count; i++) {
      int n = 0;
      int shift = 0;
      while (true) {
        if (p >= blob.length || shift > 28) {
          throw new IllegalArgumentException("id " + i + " of " + count + ": its length is cut off at byte " + p);
        }
        int b = blob[p++] & 0xff;
        n |= (b & 0x7f) << shift;
        if (b < 0x80) {
          break;
        }
        shift += 7;
      }
      if (n > blob.length - p) {
        throw new IllegalArgumentException(
            "id " + i + " of " + count + " needs " + n + " bytes from byte " + p + " of " + blob.length);
      }
      sink.accept(new String(blob, p, n, StandardCharsets.UTF_8));
      p += n;
    }
    if (p != blob.length) {
      throw new IllegalArgumentException((blob.length - p) + " bytes are left after " + count + " ids");
    }
  }
}
