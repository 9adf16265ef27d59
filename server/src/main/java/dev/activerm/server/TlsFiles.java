package dev.activerm.server;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.Collection;
import java.util.Date;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks --tls-cert and --tls-key before the server listens: both files readable, the key in
 * the PKCS#8 PEM form the TLS stack reads, and the key the one the certificate was issued for
 * (signed with the key, verified with the certificate). Without this a mismatched pair starts
 * and then fails every handshake with nothing in the log, and a PKCS#1 key fails with a raw
 * stack trace. Each failure says what to do.
 */
final class TlsFiles {
  private static final Logger log = LoggerFactory.getLogger(TlsFiles.class);
  private static final Pattern PEM = Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----([^-]*)-----END \\1-----");

  /** A start-up problem with the TLS files; the message is for the operator, no stack trace. */
  static final class Problem extends Exception {
    Problem(String message) {
      super(message);
    }
  }

  private TlsFiles() {}

  static void check(Path certFile, Path keyFile) throws Problem {
    X509Certificate cert = certificate(certFile);
    PrivateKey key = privateKey(keyFile, cert.getPublicKey().getAlgorithm());
    if (!matches(key, cert.getPublicKey())) {
      throw new Problem("--tls-key " + keyFile + " is not the key of the certificate in --tls-cert " + certFile
          + " (" + cert.getSubjectX500Principal().getName() + "): every TLS handshake would fail. Pass the key the"
          + " certificate was issued for; these two commands must print the same public key:\n"
          + "  openssl x509 -noout -pubkey -in " + certFile + "\n"
          + "  openssl pkey -pubout -in " + keyFile);
    }
    Date now = new Date();
    if (now.after(cert.getNotAfter())) {
      log.warn("the TLS certificate {} expired on {}; clients will refuse it until it is renewed", certFile, cert.getNotAfter());
    } else if (now.before(cert.getNotBefore())) {
      log.warn("the TLS certificate {} is valid only from {}; clients will refuse it until then", certFile, cert.getNotBefore());
    }
    log.info("TLS on: certificate {} ({}), key {}", certFile, cert.getSubjectX500Principal().getName(), keyFile);
  }

  private static X509Certificate certificate(Path file) throws Problem {
    Collection<? extends Certificate> chain;
    try (InputStream in = Files.newInputStream(file)) {
      chain = CertificateFactory.getInstance("X.509").generateCertificates(in);
    } catch (IOException e) {
      throw new Problem("cannot read --tls-cert " + file + ": " + e.getMessage());
    } catch (CertificateException e) {
      throw new Problem("--tls-cert " + file + " is not a PEM certificate chain (" + e.getMessage()
          + "); give the server certificate first, then any intermediates, each as '-----BEGIN CERTIFICATE-----'");
    }
    if (chain.isEmpty() || !(chain.iterator().next() instanceof X509Certificate first)) {
      throw new Problem("--tls-cert " + file + " holds no certificate; give a PEM file with '-----BEGIN CERTIFICATE-----'");
    }
    return first;
  }

  private static PrivateKey privateKey(Path file, String algorithm) throws Problem {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.US_ASCII);
    } catch (IOException e) {
      throw new Problem("cannot read --tls-key " + file + ": " + e.getMessage());
    }
    Matcher m = PEM.matcher(text);
    if (!m.find()) {
      throw new Problem("--tls-key " + file + " is not a PEM key; give an unencrypted PKCS#8 key"
          + " ('-----BEGIN PRIVATE KEY-----'), e.g. openssl pkcs8 -topk8 -nocrypt -in <your key> -out key.pem");
    }
    String label = m.group(1);
    String convert = "convert it with: openssl pkcs8 -topk8 -nocrypt -in " + file + " -out key-pkcs8.pem"
        + " and pass --tls-key key-pkcs8.pem";
    switch (label) {
      case "PRIVATE KEY" -> { }
      case "RSA PRIVATE KEY", "EC PRIVATE KEY", "DSA PRIVATE KEY" -> throw new Problem("--tls-key " + file
          + " is a '" + label + "' (PKCS#1/SEC1 form); the server reads PKCS#8 ('PRIVATE KEY'): " + convert);
      case "ENCRYPTED PRIVATE KEY" -> throw new Problem("--tls-key " + file
          + " is encrypted; the server takes an unencrypted PKCS#8 key (protect the file with permissions"
          + " instead): " + convert + " (openssl asks for the passphrase)");
      default -> throw new Problem("--tls-key " + file + " holds a '" + label + "', not a private key; give the"
          + " certificate's unencrypted PKCS#8 key ('-----BEGIN PRIVATE KEY-----')");
    }
    byte[] der;
    try {
      der = Base64.getMimeDecoder().decode(m.group(2).strip());
    } catch (IllegalArgumentException e) {
      throw new Problem("--tls-key " + file + " is damaged (its base64 does not decode): " + e.getMessage());
    }
    try {
      return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
    } catch (GeneralSecurityException e) {
      throw new Problem("--tls-key " + file + " is not a " + algorithm + " key as the certificate's is, or is damaged ("
          + e.getMessage() + "); pass the key the certificate was issued for");
    }
  }

  /** Whether key signs what the public key verifies; true when the algorithm has no plain signature here. */
  private static boolean matches(PrivateKey key, PublicKey publicKey) throws Problem {
    String algorithm = switch (publicKey.getAlgorithm()) {
      case "RSA" -> "SHA256withRSA";
      case "EC" -> "SHA256withECDSA";
      case "Ed25519", "Ed448", "EdDSA" -> publicKey.getAlgorithm();
      default -> null;
    };
    if (algorithm == null) {
      log.warn("cannot check that the TLS key matches the certificate for {} keys; a mismatch fails every handshake",
          publicKey.getAlgorithm());
      return true;
    }
    byte[] probe = new byte[32];
    new SecureRandom().nextBytes(probe);
    try {
      Signature signer = Signature.getInstance(algorithm);
      signer.initSign(key);
      signer.update(probe);
      byte[] signature = signer.sign();
      Signature verifier = Signature.getInstance(algorithm);
      verifier.initVerify(publicKey);
      verifier.update(probe);
      return verifier.verify(signature);
    } catch (GeneralSecurityException e) {
      return false; // e.g. an EC key on another curve than the certificate's
    }
  }
}
