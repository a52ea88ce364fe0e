package dev.brook.tests;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * This process's open file descriptors by kind (Linux, from {@code /proc/self/fd}): sockets by
 * protocol ({@code tcp}, {@code tcp6}, {@code udp}, {@code udp6}, {@code unix}, other {@code
 * socket}s), {@code pipe}, {@code anon_inode:[eventpoll]}, {@code anon_inode:[eventfd]} and the
 * like, and {@code file} for everything with a path. A socket is matched by its inode against
 * {@code /proc/net/*}.
 */
final class FileDescriptors {

  private static final Path FDS = Path.of("/proc/self/fd");
  private static final String[] PROTOCOLS = {"tcp", "tcp6", "udp", "udp6", "unix"};

  private FileDescriptors() {}

  /** Open descriptors counted by kind, sorted by kind. */
  static Map<String, Integer> byKind() {
    List<String> targets = new ArrayList<>();
    try (DirectoryStream<Path> fds = Files.newDirectoryStream(FDS)) {
      for (Path fd : fds) {
        try {
          targets.add(Files.readSymbolicLink(fd).toString());
        } catch (NoSuchFileException closedMeanwhile) {
          // closed between listing and reading: not open any more
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read " + FDS + " (Linux only)", e);
    }
    Map<String, String> sockets = socketInodes();
    Map<String, Integer> counts = new TreeMap<>();
    for (String target : targets) {
      counts.merge(kind(target, sockets), 1, Integer::sum);
    }
    // The directory stream read above had its own descriptor open.
    counts.computeIfPresent("file", (k, n) -> n == 1 ? null : n - 1);
    return counts;
  }

  /** {@code after - before} per kind, only the kinds that changed. */
  static Map<String, Integer> growth(Map<String, Integer> before, Map<String, Integer> after) {
    Map<String, Integer> diff = new TreeMap<>();
    for (String kind : after.keySet()) {
      int d = after.get(kind) - before.getOrDefault(kind, 0);
      if (d != 0) {
        diff.put(kind, d);
      }
    }
    for (String kind : before.keySet()) {
      if (!after.containsKey(kind)) {
        diff.put(kind, -before.get(kind));
      }
    }
    return diff;
  }

  /** Kinds that grew, with how much. */
  static Map<String, Integer> grown(Map<String, Integer> before, Map<String, Integer> after) {
    Map<String, Integer> grown = new TreeMap<>(growth(before, after));
    grown.values().removeIf(d -> d <= 0);
    return grown;
  }

  private static String kind(String target, Map<String, String> sockets) {
    if (target.startsWith("socket:[")) {
      String inode = target.substring("socket:[".length(), target.length() - 1);
      return sockets.getOrDefault(inode, "socket");
    }
    if (target.startsWith("pipe:[")) {
      return "pipe";
    }
    if (target.startsWith("anon_inode:")) {
      return target;
    }
    return "file";
  }

  /** Socket inode to protocol, from {@code /proc/net/{tcp,tcp6,udp,udp6,unix}}. */
  private static Map<String, String> socketInodes() {
    Map<String, String> inodes = new HashMap<>();
    for (String protocol : PROTOCOLS) {
      List<String> lines;
      try {
        lines = Files.readAllLines(Path.of("/proc/net", protocol));
      } catch (IOException e) {
        continue; // e.g. no IPv6 in this kernel
      }
      // unix: "Num RefCount Protocol Flags Type St Inode Path"; the others have the inode in column 10.
      int column = protocol.equals("unix") ? 6 : 9;
      for (String line : lines.subList(Math.min(1, lines.size()), lines.size())) {
        String[] cols = line.trim().split("\\s+");
        if (cols.length > column) {
          inodes.put(cols[column], protocol);
        }
      }
    }
    return inodes;
  }
}
