package dev.brook.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * A throwaway certificate authority and a server certificate it signed, for a TLS {@link
 * RedisServer} in tests ({@link RedisServer.Builder#tls(TlsCertificates)}). Made with the {@code
 * openssl} command line tool, or - where it is missing, as on a machine with only a JDK - with the
 * JDK's {@code keytool}: EC P-256 keys, valid for two days, the server certificate naming
 * {@code 127.0.0.1} and {@code localhost}, so clients can verify the peer fully.
 *
 * <pre>{@code
 * TlsCertificates certs = TlsCertificates.generate(tempDir);
 * try (RedisServer redis = RedisServer.builder().tls(certs).start()) {
 *     RedisBroker.builder().url(redis.url()).caCertificate(certs.caCertificate()).build();  // rediss://
 * }
 * }</pre>
 *
 * @param caCertificate PEM file of the CA's certificate: what a client trusts
 * @param certificate PEM file of the server's certificate
 * @param privateKey PEM file of the server's private key (unencrypted)
 */
public record TlsCertificates(Path caCertificate, Path certificate, Path privateKey) {

  /** What to do when {@code openssl} fails (when it is missing, the JDK's keytool is used instead). */
  public static final String OPENSSL_HINT = "Fix: install OpenSSL so that openssl is on PATH "
      + "(Debian/Ubuntu: apt-get install openssl).";

  public TlsCertificates {
    Objects.requireNonNull(caCertificate, "caCertificate");
    Objects.requireNonNull(certificate, "certificate");
    Objects.requireNonNull(privateKey, "privateKey");
  }

  /**
   * Makes a CA and a server certificate for {@code 127.0.0.1} in {@code directory}.
   *
   * @throws IllegalStateException when {@code openssl} (or, without it, {@code keytool}) fails, naming
   *     the fix and the tool's output
   */
  public static TlsCertificates generate(Path directory) {
    if (!opensslRuns()) {
      return generateWithKeytool(directory);
    }
    try {
      Files.createDirectories(directory);
      Path caKey = directory.resolve("ca.key");
      Path ca = directory.resolve("ca.crt");
      Path key = directory.resolve("redis.key");
      Path csr = directory.resolve("redis.csr");
      Path cert = directory.resolve("redis.crt");
      Path ext = directory.resolve("redis.ext");
      Files.writeString(ext, """
          basicConstraints=CA:FALSE
          keyUsage=digitalSignature,keyEncipherment
          extendedKeyUsage=serverAuth,clientAuth
          subjectAltName=IP:127.0.0.1,DNS:localhost
          """, StandardCharsets.US_ASCII);
      openssl(directory, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
          "-keyout", caKey.toString(), "-out", ca.toString(), "-days", "2", "-subj", "/CN=Brook test CA");
      openssl(directory, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
          "-keyout", key.toString(), "-out", csr.toString(), "-subj", "/CN=127.0.0.1");
      openssl(directory, "x509", "-req", "-in", csr.toString(), "-CA", ca.toString(), "-CAkey", caKey.toString(),
          "-CAcreateserial", "-out", cert.toString(), "-days", "2", "-extfile", ext.toString());
      return new TlsCertificates(ca, cert, key);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot write test certificates to " + directory, e);
    }
  }

  /** A client-side TLS context that trusts exactly {@link #caCertificate()}. */
  public SSLContext clientContext() {
    try (InputStream in = Files.newInputStream(caCertificate)) {
      X509Certificate ca = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
      KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
      trust.load(null, null);
      trust.setCertificateEntry("brook-test-ca", ca);
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trust);
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, tmf.getTrustManagers(), null);
      return context;
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot read " + caCertificate, e);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("Cannot use " + caCertificate + " as a trusted CA: " + e, e);
    }
  }

  private static boolean opensslRuns() {
    try {
      Process p = new ProcessBuilder("openssl", "version").redirectErrorStream(true).start();
      p.getOutputStream().close();
      p.getInputStream().readAllBytes();
      return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /**
   * The same CA and server certificate made with the JDK's {@code keytool} (which needs no OpenSSL): key pairs in
   * PKCS#12 stores, the server's private key written out as an unencrypted PKCS#8 PEM file, as redis-server reads it.
   */
  static TlsCertificates generateWithKeytool(Path directory) {
    Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
    String pass = "brook-test";
    try {
      Files.createDirectories(directory);
      Path caStore = directory.resolve("ca.p12");
      Path store = directory.resolve("redis.p12");
      Path ca = directory.resolve("ca.crt");
      Path csr = directory.resolve("redis.csr");
      Path cert = directory.resolve("redis.crt");
      Path key = directory.resolve("redis.key");
      for (Path stale : List.of(caStore, store)) {
        Files.deleteIfExists(stale);
      }
      List<String> ec = List.of("-keyalg", "EC", "-groupname", "secp256r1", "-validity", "2", "-storetype", "PKCS12",
          "-storepass", pass, "-keypass", pass);
      run(directory, keytool, concat(List.of("-genkeypair", "-alias", "ca", "-dname", "CN=Brook test CA",
          "-ext", "bc:c", "-keystore", caStore.toString()), ec));
      run(directory, keytool, concat(List.of("-genkeypair", "-alias", "redis", "-dname", "CN=127.0.0.1",
          "-keystore", store.toString()), ec));
      run(directory, keytool, List.of("-certreq", "-alias", "redis", "-keystore", store.toString(),
          "-storepass", pass, "-file", csr.toString()));
      run(directory, keytool, List.of("-gencert", "-alias", "ca", "-keystore", caStore.toString(),
          "-storepass", pass, "-infile", csr.toString(), "-outfile", cert.toString(), "-rfc", "-validity", "2",
          "-ext", "bc=ca:false", "-ext", "ku=digitalSignature,keyEncipherment", "-ext", "eku=serverAuth,clientAuth",
          "-ext", "san=ip:127.0.0.1,dns:localhost"));
      run(directory, keytool, List.of("-exportcert", "-alias", "ca", "-keystore", caStore.toString(),
          "-storepass", pass, "-rfc", "-file", ca.toString()));
      KeyStore keys = KeyStore.getInstance("PKCS12");
      try (InputStream in = Files.newInputStream(store)) {
        keys.load(in, pass.toCharArray());
      }
      byte[] pkcs8 = keys.getKey("redis", pass.toCharArray()).getEncoded();
      Files.writeString(key, "-----BEGIN PRIVATE KEY-----\n"
          + java.util.Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(pkcs8)
          + "\n-----END PRIVATE KEY-----\n", StandardCharsets.US_ASCII);
      return new TlsCertificates(ca, cert, key);
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot write test certificates to " + directory, e);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("Cannot read the key keytool made in " + directory + ": " + e, e);
    }
  }

  private static List<String> concat(List<String> a, List<String> b) {
    List<String> all = new ArrayList<>(a);
    all.addAll(b);
    return all;
  }

  private static void run(Path directory, Path keytool, List<String> args) {
    List<String> command = new ArrayList<>();
    command.add(keytool.toString());
    command.addAll(args);
    Process p;
    try {
      p = new ProcessBuilder(command).directory(directory.toFile()).redirectErrorStream(true).start();
    } catch (IOException e) {
      throw new IllegalStateException("Cannot run " + keytool + " to make test certificates (" + e.getMessage()
          + "). " + OPENSSL_HINT, e);
    }
    finish(p, "keytool " + String.join(" ", args), "keytool " + args.getFirst());
  }

  private static void openssl(Path directory, String... args) {
    List<String> command = new ArrayList<>();
    command.add("openssl");
    command.addAll(List.of(args));
    Process p;
    try {
      p = new ProcessBuilder(command).directory(directory.toFile()).redirectErrorStream(true).start();
    } catch (IOException e) {
      throw new IllegalStateException("Cannot run openssl to make test certificates (" + e.getMessage() + "). "
          + OPENSSL_HINT, e);
    }
    finish(p, "openssl " + String.join(" ", args), "openssl " + args[0]);
  }

  private static void finish(Process p, String commandLine, String shortName) {
    try {
      p.getOutputStream().close();
      byte[] out = p.getInputStream().readAllBytes();
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IllegalStateException(shortName + " did not finish within 30 s.");
      }
      if (p.exitValue() != 0) {
        throw new IllegalStateException(commandLine + " failed with exit code " + p.exitValue()
            + ":\n" + new String(out, StandardCharsets.UTF_8) + OPENSSL_HINT);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      p.destroyForcibly();
      throw new IllegalStateException("Interrupted while running " + shortName, e);
    }
  }
}
