package io.wsgateway.redis.internal;

import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/** Shared handling of the failures that come out of Lettuce's futures. */
final class Failures {

  private Failures() {}

  /** The cause under completion and execution wrappers. */
  static Throwable unwrap(Throwable e) {
    Throwable cause = e;
    while ((cause instanceof CompletionException || cause instanceof ExecutionException)
        && cause.getCause() != null) {
      cause = cause.getCause();
    }
    return cause;
  }
}
