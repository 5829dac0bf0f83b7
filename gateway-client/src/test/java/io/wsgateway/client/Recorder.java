package io.wsgateway.client;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** A listener that records everything, for assertions from the test thread. */
final class Recorder implements ClientListener {
  final List<ClientMessage> messages = new CopyOnWriteArrayList<>();
  final List<String> states = new CopyOnWriteArrayList<>();
  final List<String> errors = new CopyOnWriteArrayList<>();
  final List<String> frames = new CopyOnWriteArrayList<>();

  @Override
  public void onMessage(ClientMessage message) {
    messages.add(message);
  }

  @Override
  public void onStateChanged(ClientState from, ClientState to) {
    states.add(from + "->" + to);
  }

  @Override
  public void onError(String code, String message) {
    errors.add(code + ": " + message);
  }

  @Override
  public void onFrame(String type, String json) {
    frames.add(json);
  }

  long errorCount(String code) {
    return errors.stream().filter(e -> e.startsWith(code + ":")).count();
  }

  List<String> data() {
    return messages.stream().map(ClientMessage::data).toList();
  }

  /** The direct messages, in delivery order. */
  List<ClientMessage> direct() {
    return messages.stream().filter(m -> m.topic() == null).toList();
  }

  /** The messages of {@code topic}, in delivery order. */
  List<ClientMessage> topic(String topic) {
    return messages.stream().filter(m -> topic.equals(m.topic())).toList();
  }
}
