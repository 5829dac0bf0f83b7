/**
 * Compatibility kits for the gateway's SPIs, as abstract JUnit 5 tests that implementations extend
 * in their own test sources.
 */
module io.wsgateway.testkit {
  requires transitive io.wsgateway.api;
  requires transitive org.junit.jupiter.api;

  exports io.wsgateway.testkit;
  exports io.wsgateway.testkit.broker;
  exports io.wsgateway.testkit.recovery;
  exports io.wsgateway.testkit.registry;

  // JUnit instantiates the kits' @Nested inner classes and calls their package-private lifecycle
  // methods reflectively.
  opens io.wsgateway.testkit.broker to org.junit.platform.commons;
  opens io.wsgateway.testkit.recovery to org.junit.platform.commons;
  opens io.wsgateway.testkit.registry to org.junit.platform.commons;
}
