package dev.brook.tests;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A stand-in for a sentinel that names whatever port the test sets ({@link #name}) as the primary
 * of any master name: a sentinel that has not yet heard of a failover, on demand. It speaks just
 * enough RESP for Lettuce's sentinel lookups: {@code HELLO} is refused (Lettuce falls back to
 * RESP2), {@code SENTINEL GET-MASTER-ADDR-BY-NAME} answers the address, everything else {@code +OK}.
 * One virtual thread per connection; {@link #close()} ends them all.
 */
final class FakeSentinel implements AutoCloseable {

  private final ServerSocket server;
  private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
  private final Thread acceptor;
  private volatile int primaryPort;
  final AtomicInteger lookups = new AtomicInteger();

  FakeSentinel(int primaryPort) throws IOException {
    this.primaryPort = primaryPort;
    server = new ServerSocket();
    server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    acceptor = Thread.ofVirtual().name("fake-sentinel").start(this::accept);
  }

  int port() {
    return server.getLocalPort();
  }

  /** From now on, lookups name this port on 127.0.0.1. */
  void name(int port) {
    this.primaryPort = port;
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        Socket s = server.accept();
        sockets.add(s);
        Thread.ofVirtual().name("fake-sentinel-conn").start(() -> serve(s));
      } catch (IOException closed) {
        return;
      }
    }
  }

  private void serve(Socket socket) {
    try (socket; InputStream in = new BufferedInputStream(socket.getInputStream()); OutputStream out = socket.getOutputStream()) {
      while (true) {
        List<String> command = readCommand(in);
        if (command == null) {
          return;
        }
        String name = command.get(0).toUpperCase(java.util.Locale.ROOT);
        String reply;
        if (name.equals("HELLO")) {
          reply = "-ERR unknown command 'HELLO'\r\n";
        } else if (name.equals("SENTINEL") && command.size() > 1
            && command.get(1).equalsIgnoreCase("GET-MASTER-ADDR-BY-NAME")) {
          lookups.incrementAndGet();
          String port = Integer.toString(primaryPort);
          reply = "*2\r\n$9\r\n127.0.0.1\r\n$" + port.length() + "\r\n" + port + "\r\n";
        } else if (name.equals("PING")) {
          reply = "+PONG\r\n";
        } else {
          reply = "+OK\r\n";
        }
        out.write(reply.getBytes(StandardCharsets.UTF_8));
        out.flush();
      }
    } catch (IOException gone) {
      // the client closed the connection, or close() did
    } finally {
      sockets.remove(socket);
    }
  }

  /** One RESP array of bulk strings; null at the end of the stream. */
  private static List<String> readCommand(InputStream in) throws IOException {
    String header = line(in);
    if (header == null) {
      return null;
    }
    if (header.charAt(0) != '*') {
      return List.of(header.split(" ")); // inline command
    }
    int n = Integer.parseInt(header.substring(1));
    List<String> args = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      int len = Integer.parseInt(line(in).substring(1));
      byte[] b = in.readNBytes(len + 2);
      args.add(new String(b, 0, len, StandardCharsets.UTF_8));
    }
    return args;
  }

  private static String line(InputStream in) throws IOException {
    StringBuilder sb = new StringBuilder();
    int c;
    while ((c = in.read()) != -1) {
      if (c == '\r') {
        in.read(); // \n
        return sb.toString();
      }
      sb.append((char) c);
    }
    return null;
  }

  @Override
  public void close() throws Exception {
    server.close();
    for (Socket s : sockets) {
      s.close();
    }
    acceptor.join();
  }
}
