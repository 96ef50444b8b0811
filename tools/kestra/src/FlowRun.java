import com.fasterxml.jackson.databind.ObjectMapper;
import io.kestra.core.models.executions.Execution;
import io.kestra.core.models.executions.TaskRun;
import io.kestra.core.models.executions.Variables;
import io.kestra.core.models.flows.FlowWithSource;
import io.kestra.core.models.flows.State;
import io.kestra.core.models.tasks.Output;
import io.kestra.core.models.tasks.ResolvedTask;
import io.kestra.core.models.tasks.RunnableTask;
import io.kestra.core.models.tasks.Task;
import io.kestra.core.runners.FlowInputOutput;
import io.kestra.core.runners.RunContext;
import io.kestra.core.runners.RunContextFactory;
import io.kestra.core.services.PluginDefaultService;
import io.micronaut.context.ApplicationContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Runs a flow made only of Kestra's core runnable tasks (Log, Return, Sleep ...) with Kestra's own
 * code: the flow parsed with its plugin defaults, the inputs typed by FlowInputOutput, each task's
 * RunContext made by RunContextFactory from the execution so far, the task's own run(). This is a
 * worker's job done in sequence: Kestra's executor, scheduler and queues are not published for a
 * JVM without a server (runner-memory is an empty jar at the pinned version), so flowable tasks, concurrency
 * and triggers are not run here.
 *
 * Usage: java -cp classes:lib/* FlowRun STORAGE_DIR FLOW_FILE INPUTS_JSON
 * Prints one JSON object: {"inputs": typed inputs, "tasks": [{"id", "state", "outputs", "error"}]}
 */
public final class FlowRun {
  private FlowRun() {}

  @SuppressWarnings("unchecked")
  public static void main(String[] args) throws Exception {
    if (args.length != 3) {
      System.err.println("usage: FlowRun STORAGE_DIR FLOW_FILE INPUTS_JSON");
      System.exit(2);
    }
    ObjectMapper json = new ObjectMapper();
    Map<String, Object> inputs = json.readValue(args[2], Map.class);

    Map<String, Object> result = new LinkedHashMap<>();
    List<Map<String, Object>> taskResults = new ArrayList<>();
    try (ApplicationContext context = ServerlessKestra.start(args[0])) {
      PluginDefaultService defaults = context.getBean(PluginDefaultService.class);
      FlowInputOutput flowInputOutput = context.getBean(FlowInputOutput.class);
      RunContextFactory runContexts = context.getBean(RunContextFactory.class);
      FlowWithSource flow = defaults.parseFlowWithAllDefaults("main", Files.readString(Path.of(args[1])), false);
      Execution execution = Execution.newExecution(
          flow, (f, e) -> flowInputOutput.readExecutionInputs(f, e, inputs), List.of(), Optional.empty());
      result.put("inputs", execution.getInputs());
      List<TaskRun> done = new ArrayList<>();
      for (Task task : flow.getTasks()) {
        Map<String, Object> taskResult = new LinkedHashMap<>();
        taskResult.put("id", task.getId());
        taskResults.add(taskResult);
        if (!(task instanceof RunnableTask<?> runnable)) {
          taskResult.put("state", "NOT_RUN");
          taskResult.put("error", task.getType() + " is not a runnable task: only a worker's tasks run here");
          break;
        }
        TaskRun taskRun = TaskRun.of(execution, ResolvedTask.of(task));
        RunContext runContext = runContexts.of(flow, task, execution, taskRun);
        try {
          Output output = runnable.run(runContext);
          Map<String, Object> outputs = output == null ? Map.of() : output.toMap();
          taskRun = taskRun.withOutputs(Variables.inMemory(outputs)).withState(State.Type.SUCCESS);
          taskResult.put("state", "SUCCESS");
          taskResult.put("outputs", outputs);
          taskResult.put("rendered", renderedStrings(task, runContext));
        } catch (Exception error) {
          taskResult.put("state", "FAILED");
          taskResult.put("error", String.valueOf(error.getMessage()));
          break;
        }
        done.add(taskRun);
        execution = execution.withTaskRunList(new ArrayList<>(done));
      }
    }
    result.put("tasks", taskResults);
    System.out.println(json.writeValueAsString(result));
    // Kestra starts non-daemon threads (JFR streaming) that would keep the JVM alive.
    System.exit(0);
  }

  /** The task's `message` as its RunContext renders it (what a Log task writes). */
  private static Map<String, Object> renderedStrings(Task task, RunContext runContext) throws Exception {
    Map<String, Object> rendered = new LinkedHashMap<>();
    if (task instanceof io.kestra.plugin.core.log.Log log && log.getMessage() != null) {
      rendered.put("message", runContext.render(String.valueOf(log.getMessage().toString())));
    }
    return rendered;
  }
}
