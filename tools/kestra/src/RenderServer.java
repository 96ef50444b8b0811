import com.fasterxml.jackson.databind.ObjectMapper;
import io.kestra.core.exceptions.IllegalVariableEvaluationException;
import io.kestra.core.runners.VariableRenderer;
import io.kestra.core.services.KVStoreService;
import io.kestra.core.storages.kv.KVMetadata;
import io.kestra.core.storages.kv.KVValueAndMetadata;
import io.micronaut.context.ApplicationContext;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Kestra's own template renderer (VariableRenderer, with Kestra's Pebble functions and filters:
 * kv(), secret(), render(), date filters ...) for the tests, so that what the tests run on
 * PostgreSQL or DuckDB is a flow's text exactly as Kestra would render it.
 *
 * Usage: java -cp classes:lib/* RenderServer STORAGE_DIR
 * Reads one JSON request per line on stdin and answers one JSON line on stdout:
 *   request  {"kv": {namespace: {key: value}}, "variables": {...}, "templates": {name: text}}
 *   answer   {"rendered": {name: text}, "errors": {name: Kestra's message}}
 * The variables are what a task's RunContext holds (flow, execution, inputs, vars, outputs,
 * trigger, labels); secrets come from SECRET_* environment variables, read by Kestra's own
 * SecretService as on a server. KV values are written into Kestra's KV store (local storage)
 * before the templates render; a key an earlier request wrote and this one does not name is deleted. Hand-written because Kestra publishes no command that renders a
 * template without a running server; one JVM serves a whole test run (~8 s start-up).
 */
public final class RenderServer {
  private RenderServer() {}

  @SuppressWarnings("unchecked")
  public static void main(String[] args) throws Exception {
    if (args.length != 1) {
      System.err.println("usage: RenderServer STORAGE_DIR");
      System.exit(2);
    }

    ObjectMapper json = new ObjectMapper();
    try (ApplicationContext context = ServerlessKestra.start(args[0])) {
      VariableRenderer renderer = context.getBean(VariableRenderer.class);
      KVStoreService kvStores = context.getBean(KVStoreService.class);
      Map<String, Set<String>> written = new HashMap<>();
      BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      System.out.println("{\"ready\": true}");
      System.out.flush();
      String line;
      while ((line = in.readLine()) != null) {
        if (line.isBlank()) {
          continue;
        }
        Map<String, Object> request = json.readValue(line, Map.class);
        Map<String, Object> answer = new LinkedHashMap<>();
        Map<String, Object> rendered = new LinkedHashMap<>();
        Map<String, Object> errors = new LinkedHashMap<>();
        try {
          Map<String, Map<String, Object>> kv =
              (Map<String, Map<String, Object>>) request.getOrDefault("kv", Map.of());
          // Each request sees exactly its own KV values: what an earlier one wrote and this one does
          // not name is deleted, so no request's answer depends on the ones before it.
          for (Map.Entry<String, Set<String>> namespace : written.entrySet()) {
            Map<String, Object> wanted = kv.getOrDefault(namespace.getKey(), Map.of());
            for (String key : Set.copyOf(namespace.getValue())) {
              if (!wanted.containsKey(key)) {
                kvStores.get("main", namespace.getKey(), namespace.getKey()).delete(key);
                namespace.getValue().remove(key);
              }
            }
          }
          for (Map.Entry<String, Map<String, Object>> namespace : kv.entrySet()) {
            for (Map.Entry<String, Object> entry : namespace.getValue().entrySet()) {
              kvStores
                  .get("main", namespace.getKey(), namespace.getKey())
                  .put(entry.getKey(), new KVValueAndMetadata(new KVMetadata(null, (Duration) null), entry.getValue()));
              written.computeIfAbsent(namespace.getKey(), k -> new HashSet<>()).add(entry.getKey());
            }
          }
          Map<String, Object> variables = (Map<String, Object>) request.getOrDefault("variables", Map.of());
          Map<String, Object> templates = (Map<String, Object>) request.getOrDefault("templates", Map.of());
          for (Map.Entry<String, Object> template : templates.entrySet()) {
            try {
              rendered.put(template.getKey(), renderer.render(String.valueOf(template.getValue()), variables));
            } catch (IllegalVariableEvaluationException | RuntimeException error) {
              errors.put(template.getKey(), String.valueOf(error.getMessage()));
            }
          }
        } catch (Exception error) {
          errors.put("(request)", String.valueOf(error));
        }
        answer.put("rendered", rendered);
        answer.put("errors", errors);
        System.out.println(json.writeValueAsString(answer));
        System.out.flush();
      }
    }
    // Kestra starts non-daemon threads (JFR streaming) that would keep the JVM alive.
    System.exit(0);
  }
}
