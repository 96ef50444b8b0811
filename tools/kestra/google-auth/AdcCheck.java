import com.google.auth.oauth2.AccessToken;
import com.google.auth.oauth2.GoogleCredentials;
import java.util.Arrays;

/**
 * Asks for Application Default Credentials the way plugin-gcp's CredentialService does
 * (GoogleCredentials.getApplicationDefault, then createScoped with the task's scopes) and prints
 * what Google's client got, one "key=value" per line: the credential class, the token, its
 * seconds to expiry and the universe domain. Exits 1 with the client's error on one line.
 * Usage: java -cp google-auth/classes:google-auth/lib/* AdcCheck [SCOPE ...]
 */
public final class AdcCheck {
  private AdcCheck() {}

  public static void main(String[] args) {
    try {
      GoogleCredentials credentials = GoogleCredentials.getApplicationDefault();
      if (args.length > 0) {
        credentials = credentials.createScoped(Arrays.asList(args));
      }
      credentials.refresh();
      AccessToken token = credentials.getAccessToken();
      System.out.println("class=" + credentials.getClass().getSimpleName());
      System.out.println("token=" + token.getTokenValue());
      System.out.println("expires_in=" + (token.getExpirationTime().getTime() - System.currentTimeMillis()) / 1000);
      System.out.println("universe=" + credentials.getUniverseDomain());
      System.exit(0);
    } catch (Exception error) {
      System.out.println("error=" + error.getClass().getSimpleName() + ": " + String.valueOf(error.getMessage()).replace('\n', ' '));
      System.exit(1);
    }
  }
}
