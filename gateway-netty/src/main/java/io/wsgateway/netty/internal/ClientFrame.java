package io.wsgateway.netty.internal;

/**
 * One parsed client frame. Fields the frame did not carry are {@code null} ({@code since}: -1);
 * {@code data} is the raw UTF-8 JSON of the {@code data} member, sliced from the frame without
 * re-serialising it. {@code since} and {@code epoch} are a subscribe's position to catch up from.
 */
record ClientFrame(String type, String id, String to, String topic, String token, byte[] data, long since,
    String epoch) {}
