package dev.activerm.server.core.project;

/** The label of a comparison between responses a and b. */
public enum Outcome {
  A,
  B,
  TIE;

  /** Bradley–Terry target: probability that a beats b (a tie is half a win each). */
  public double targetForA() {
    return switch (this) {
      case A -> 1.0;
      case B -> 0.0;
      case TIE -> 0.5;
    };
  }
}
