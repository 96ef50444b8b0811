import io.kestra.core.encryption.EncryptionService;

/**
 * Asks Kestra's own EncryptionService whether a value works as `kestra.encryption.secret-key`:
 * it encrypts and decrypts a probe with it. Prints "ok", or the error and exits 1.
 * Usage: java -cp classes:lib/* EncryptionCheck KEY
 */
public final class EncryptionCheck {
  private EncryptionCheck() {}

  public static void main(String[] args) {
    try {
      String sealed = EncryptionService.encrypt(args[0], "probe");
      if (!"probe".equals(EncryptionService.decrypt(args[0], sealed))) {
        throw new IllegalStateException("decrypting gave another value");
      }
      System.out.println("ok");
      System.exit(0);
    } catch (Exception error) {
      System.out.println(error.getClass().getSimpleName() + ": " + error.getMessage());
      System.exit(1);
    }
  }
}
