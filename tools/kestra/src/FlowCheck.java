import com.fasterxml.jackson.databind.ObjectMapper;
import io.kestra.core.models.flows.FlowSource;
import io.kestra.core.models.validations.ValidateConstraintViolation;
import io.kestra.core.services.FlowService;
import io.micronaut.context.ApplicationContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Asks Kestra itself whether flow files are valid: the same FlowService.validate that the server's
 * flow validation endpoint calls, on an in-memory repository, with the plugins on the classpath.
 *
 * Usage: java -cp classes:lib/* FlowCheck STORAGE_DIR FILE...
 * Prints one JSON array, an object per file in argument order:
 *   {"file", "flow", "namespace", "error" (null when Kestra accepts it), "warnings", "infos", "deprecations"}
 * Hand-written because Kestra ships no command that validates a flow without a running server
 * (its CLI module is not published on Maven Central).
 */
public final class FlowCheck {
  private FlowCheck() {}

  public static void main(String[] args) throws Exception {
    if (args.length < 1) {
      System.err.println("usage: FlowCheck STORAGE_DIR FILE...");
      System.exit(2);
    }

    List<FlowSource> sources = new ArrayList<>();
    for (int i = 1; i < args.length; i++) {
      sources.add(new FlowSource(args[i], Files.readString(Path.of(args[i]))));
    }

    List<Map<String, Object>> verdicts = new ArrayList<>();
    try (ApplicationContext context = ServerlessKestra.start(args[0])) {
      FlowService flowService = context.getBean(FlowService.class);
      for (ValidateConstraintViolation violation : flowService.validate("main", sources)) {
        Map<String, Object> verdict = new LinkedHashMap<>();
        verdict.put("file", violation.getFilename());
        verdict.put("flow", violation.getFlow());
        verdict.put("namespace", violation.getNamespace());
        verdict.put("error", violation.getConstraints());
        verdict.put("warnings", violation.getWarnings());
        verdict.put("infos", violation.getInfos());
        verdict.put("deprecations", violation.getDeprecationPaths());
        verdicts.add(verdict);
      }
    }
    System.out.println(new ObjectMapper().writeValueAsString(verdicts));
    // Kestra starts non-daemon threads (JFR streaming) that would keep the JVM alive.
    System.exit(0);
  }
}
