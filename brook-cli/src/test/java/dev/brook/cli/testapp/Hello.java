package dev.brook.cli.testapp;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** A plain main class for {@code brook run}: it records its arguments and the URL property it sees. */
public final class Hello {

  /** What the last call saw: its arguments, then the brook.redis.url property. */
  public static final List<String> SEEN = new CopyOnWriteArrayList<>();

  private Hello() {}

  public static void main(String[] args) {
    SEEN.clear();
    SEEN.addAll(List.of(args));
    SEEN.add("url=" + System.getProperty("brook.redis.url"));
  }
}
