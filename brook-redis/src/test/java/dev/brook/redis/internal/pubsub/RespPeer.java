package dev.brook.redis.internal.pubsub;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The server's side of one connection in the fake-Redis tests of the Pub/Sub reader
 * ({@code SocketPubSubTest}, {@code SocketPubSubProbeTest}): reads the commands the reader sends and
 * writes RESP3 back, byte for byte as a test scripts it.
 */
final class RespPeer {

  final Socket socket;
  final InputStream in;
  final OutputStream out;

  RespPeer(Socket socket) throws IOException {
    this.socket = socket;
    socket.setTcpNoDelay(true);
    this.in = socket.getInputStream();
    this.out = socket.getOutputStream();
  }

  List<String> command() throws IOException {
    String header = line();
    List<String> args = new ArrayList<>();
    for (int i = Integer.parseInt(header.substring(1)); i > 0; i--) {
      int len = Integer.parseInt(line().substring(1));
      args.add(new String(in.readNBytes(len), StandardCharsets.UTF_8));
      in.readNBytes(2);
    }
    return args;
  }

  private String line() throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    for (int c; (c = in.read()) != '\r'; ) {
      if (c < 0) {
        throw new IOException("closed by the reader");
      }
      b.write(c);
    }
    in.read();
    return b.toString(StandardCharsets.UTF_8);
  }

  void send(String resp) throws IOException {
    out.write(resp.getBytes(StandardCharsets.UTF_8));
    out.flush();
  }

  /** Reads a (P)SUBSCRIBE and confirms it; its name. */
  String confirm() throws IOException {
    List<String> cmd = command();
    String kind = cmd.get(0).toLowerCase(java.util.Locale.ROOT);
    send(">3\r\n" + bulk(kind) + bulk(cmd.get(1)) + ":1\r\n");
    return cmd.get(0) + " " + cmd.get(1);
  }

  /** Whether the reader closed its end: a read returns end of stream within {@code wait}. */
  boolean closedByReader(Duration wait) throws IOException {
    socket.setSoTimeout((int) wait.toMillis());
    try {
      while (true) {
        if (in.read() < 0) {
          return true;
        }
      }
    } catch (java.net.SocketTimeoutException e) {
      return false;
    } catch (IOException reset) {
      return true;
    }
  }

  /** Reads a SUBSCRIBE (nothing else) and confirms it; the channel's name. */
  String confirmSubscribe() throws IOException {
    List<String> cmd = command();
    if (!cmd.get(0).equals("SUBSCRIBE")) {
      throw new IOException("expected SUBSCRIBE, got " + cmd);
    }
    send(">3\r\n$9\r\nsubscribe\r\n" + bulk(cmd.get(1)) + ":1\r\n");
    return cmd.get(1);
  }

  /** Pushes a message on {@code channel}. */
  void message(String channel, String payload) throws IOException {
    send(">3\r\n$7\r\nmessage\r\n" + bulk(channel) + bulk(payload));
  }

static String bulk(String s) {
  return "$" + s.getBytes(StandardCharsets.UTF_8).length + "\r\n" + s + "\r\n";
}
}
