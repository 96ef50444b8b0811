import io.micronaut.context.ApplicationContext;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The Kestra the tests start without a server: its own beans on an in-memory repository and queue,
 * with local internal storage in a scratch folder. One place, so FlowCheck, FlowRun and
 * RenderServer judge, run and render with the same Kestra.
 */
final class ServerlessKestra {
  private ServerlessKestra() {}

  static ApplicationContext start(String storageDir) {
    Map<String, Object> properties = new LinkedHashMap<>();
    properties.put("kestra.repository.type", "memory");
    properties.put("kestra.queue.type", "memory");
    properties.put("kestra.storage.type", "local");
    properties.put("kestra.storage.local.base-path", storageDir);
    properties.put("kestra.tutorial-flows.enabled", "false");
    return ApplicationContext.builder().properties(properties).start();
  }
}
