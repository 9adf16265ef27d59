package dev.activerm.server.core.errors;

import java.util.List;

/**
 * A failure the caller can act on. The kind says which status the API answers with;
 * the message says how to fix the request; violations name the offending fields.
 */
public final class ActiveRmException extends RuntimeException {

  /** What went wrong, in the caller's terms (maps 1:1 onto gRPC status codes). */
  public enum Kind {
    INVALID_ARGUMENT,
    NOT_FOUND,
    ALREADY_EXISTS,
    FAILED_PRECONDITION,
    RESOURCE_EXHAUSTED,
    ABORTED
  }

  private final Kind kind;
  private final List<FieldViolation> violations;

  public ActiveRmException(Kind kind, String message, List<FieldViolation> violations) {
    super(message);
    this.kind = kind;
    this.violations = List.copyOf(violations);
  }

  public static ActiveRmException invalid(String message, FieldViolation... violations) {
    return new ActiveRmException(Kind.INVALID_ARGUMENT, message, List.of(violations));
  }

  public static ActiveRmException notFound(String message, FieldViolation... violations) {
    return new ActiveRmException(Kind.NOT_FOUND, message, List.of(violations));
  }

  public static ActiveRmException alreadyExists(String message, FieldViolation... violations) {
    return new ActiveRmException(Kind.ALREADY_EXISTS, message, List.of(violations));
  }

  public static ActiveRmException failedPrecondition(String message) {
    return new ActiveRmException(Kind.FAILED_PRECONDITION, message, List.of());
  }

  public static ActiveRmException resourceExhausted(String message) {
    return new ActiveRmException(Kind.RESOURCE_EXHAUSTED, message, List.of());
  }

  public static ActiveRmException aborted(String message) {
    return new ActiveRmException(Kind.ABORTED, message, List.of());
  }

  public Kind kind() {
    return kind;
  }

  public List<FieldViolation> violations() {
    return violations;
  }
}
