package io.wsgateway.internal;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class GlobPatternTest {

  @Test
  @DisplayName("A pattern without a star matches only the same text")
  void literal() {
    assertTrue(GlobPattern.matches("room:1", "room:1"));
    assertFalse(GlobPattern.matches("room:1", "room:12"));
    assertFalse(GlobPattern.matches("room:12", "room:1"));
    assertTrue(GlobPattern.matches("", ""));
    assertFalse(GlobPattern.matches("", "a"));
  }

  @Test
  @DisplayName("A star matches any run of characters, the empty run included")
  void star() {
    assertTrue(GlobPattern.matches("room:*", "room:"));
    assertTrue(GlobPattern.matches("room:*", "room:lobby"));
    assertTrue(GlobPattern.matches("*", ""));
    assertTrue(GlobPattern.matches("*", "anything:at:all"));
    assertTrue(GlobPattern.matches("*:chat", "room:1:chat"));
    assertFalse(GlobPattern.matches("room:*", "rooms:1"));
  }

  @Test
  @DisplayName("Several stars backtrack correctly")
  void severalStars() {
    assertTrue(GlobPattern.matches("a*b*c", "aXbYc"));
    assertTrue(GlobPattern.matches("a*b*c", "abbbc"));
    assertTrue(GlobPattern.matches("**", "x"));
    assertFalse(GlobPattern.matches("a*b*c", "aXbY"));
    assertTrue(GlobPattern.matches("*a*a*a*", "banana:a"));
  }

  @Test
  @DisplayName("Regex metacharacters are literal")
  void noRegex() {
    assertTrue(GlobPattern.matches("a.b", "a.b"));
    assertFalse(GlobPattern.matches("a.b", "axb"));
    assertFalse(GlobPattern.matches("[ab]", "a"));
  }

  @Test
  @DisplayName("A pathological pattern finishes quickly (no exponential backtracking)")
  void linear() {
    String text = "a".repeat(10_000);
    assertFalse(GlobPattern.matches("*a*a*a*a*a*a*a*a*b", text));
  }
}
