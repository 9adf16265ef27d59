package dev.activerm.server.core.project;

import dev.activerm.server.core.errors.ActiveRmException;
import dev.activerm.server.core.errors.FieldViolation;

/** Page sizes of ListResponses and ListComparisons. */
final class Pages {
  static final int MAX_PAGE_SIZE = 100_000;
  static final int DEFAULT_PAGE_SIZE = 1000;

  private Pages() {}

  /** The page size to use: 0 means {@link #DEFAULT_PAGE_SIZE}; INVALID_ARGUMENT outside 0..MAX. */
  static int size(int pageSize) {
    int size = pageSize == 0 ? DEFAULT_PAGE_SIZE : pageSize;
    if (size < 1 || size > MAX_PAGE_SIZE) {
      throw ActiveRmException.invalid(
          "page_size is " + pageSize + "; use 1.." + MAX_PAGE_SIZE + " (0 means " + DEFAULT_PAGE_SIZE + ")",
          new FieldViolation("page_size", "must be 0.." + MAX_PAGE_SIZE));
    }
    return size;
  }
}
