"""The one allowlist of Kestra 1.x plugin types this repository's flows may use.

Kestra rejects a flow whose `type` it does not know, and old aliases (`io.kestra.core.tasks.*`,
`io.kestra.plugin.fs.http.*`) are on their way out: a learner who copies an old snippet gets a
flow that works today and breaks on the next upgrade. Every type used under flows/ (course
flows, the dbt flows, the GCE git-sync system flow) must be listed here, with the properties
Kestra requires, the properties that hold nested tasks, and the outputs other tasks may read.
Sources: the plugin pages on kestra.io for Kestra 1.3 (one line per type below).

Adding a plugin: add one `_task(...)`/`_trigger(...)` line, then add a flow that uses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["task", "trigger", "runner"]


@dataclass(frozen=True)
class PluginSpec:
    type: str
    kind: Kind
    required: frozenset[str] = frozenset()
    # Properties holding a list of tasks (`then`, `tasks`, ...) and a map of lists (`cases`).
    task_lists: tuple[str, ...] = ()
    task_maps: tuple[str, ...] = ()
    # Output attributes other tasks may read as outputs.<id>.<name>; None = not checked.
    outputs: frozenset[str] | None = frozenset()
    # Extra Pebble names this task provides to its own properties (e.g. DuckDB's workingDir).
    provides: frozenset[str] = frozenset()
    # True when the task runs a container image (containerImage must then be pinned).
    container: bool = False


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _task(type_: str, required: str = "", outputs: str | None = "", **extra: object) -> PluginSpec:
    return PluginSpec(
        type=type_,
        kind="task",
        required=frozenset(required.split()),
        outputs=None if outputs is None else frozenset(outputs.split()),
        **extra,  # type: ignore[arg-type]
    )


def _trigger(type_: str, required: str = "") -> PluginSpec:
    return PluginSpec(type=type_, kind="trigger", required=frozenset(required.split()), outputs=None)


_SCRIPT = {"provides": frozenset({"workingDir", "outputDir"}), "container": True}
_SCRIPT_OUTPUTS = "exitCode outputFiles vars taskRunner"
_JDBC_QUERY_OUTPUTS = "row rows size uri"

PLUGINS: dict[str, PluginSpec] = {
    spec.type: spec
    for spec in (
        # core: logging, HTTP, execution control, flow control, storage
        _task("io.kestra.plugin.core.log.Log", "message"),
        _task("io.kestra.plugin.core.http.Download", "uri", "uri code headers length"),
        _task("io.kestra.plugin.core.http.Request", "uri", "uri code headers body encryptedBody formData"),
        _task("io.kestra.plugin.core.execution.Fail"),
        _task("io.kestra.plugin.core.execution.Labels", "labels"),
        _task("io.kestra.plugin.core.flow.If", "condition then", task_lists=("then", "else")),
        _task("io.kestra.plugin.core.flow.Switch", "value", task_lists=("defaults",), task_maps=("cases",)),
        _task("io.kestra.plugin.core.flow.Sequential", "tasks", task_lists=("tasks",)),
        _task("io.kestra.plugin.core.flow.Parallel", "tasks", task_lists=("tasks",)),
        _task("io.kestra.plugin.core.flow.ForEach", "values tasks", None, task_lists=("tasks",)),
        _task(
            "io.kestra.plugin.core.flow.WorkingDirectory",
            "tasks",
            task_lists=("tasks",),
            provides=frozenset({"workingDir"}),
        ),
        _task("io.kestra.plugin.core.flow.Subflow", "namespace flowId", "executionId outputs state"),
        _task("io.kestra.plugin.core.storage.PurgeCurrentExecutionFiles", "", "uris"),
        _task("io.kestra.plugin.core.debug.Return", "format", "value"),
        _task("io.kestra.plugin.core.output.OutputValues", "values", "values"),
        _task("io.kestra.plugin.core.kv.Set", "key value"),
        _task("io.kestra.plugin.core.kv.Get", "key", "value"),
        # scripts (Docker task runner by default: the image must be pinned)
        _task("io.kestra.plugin.scripts.python.Script", "script", _SCRIPT_OUTPUTS, **_SCRIPT),
        _task("io.kestra.plugin.scripts.python.Commands", "commands", _SCRIPT_OUTPUTS, **_SCRIPT),
        _task("io.kestra.plugin.scripts.shell.Script", "script", _SCRIPT_OUTPUTS, **_SCRIPT),
        _task("io.kestra.plugin.scripts.shell.Commands", "commands", _SCRIPT_OUTPUTS, **_SCRIPT),
        # databases
        _task("io.kestra.plugin.jdbc.postgresql.Queries", "url sql", "outputs"),
        _task("io.kestra.plugin.jdbc.postgresql.Query", "url sql", _JDBC_QUERY_OUTPUTS),
        _task("io.kestra.plugin.jdbc.postgresql.CopyIn", "url from table", "rowCount"),
        _task("io.kestra.plugin.jdbc.postgresql.CopyOut", "url", "rowCount uri"),
        _task(
            "io.kestra.plugin.jdbc.duckdb.Query",
            "sql",
            _JDBC_QUERY_OUTPUTS + " outputFiles databaseUri",
            provides=frozenset({"workingDir", "outputFiles"}),
        ),
        _task(
            "io.kestra.plugin.jdbc.duckdb.Queries",
            "sql",
            "outputs outputFiles databaseUri",
            provides=frozenset({"workingDir", "outputFiles"}),
        ),
        # Google Cloud (credentials: Application Default Credentials, never a serviceAccount key)
        _task("io.kestra.plugin.gcp.gcs.Upload", "from to", "uri"),
        _task("io.kestra.plugin.gcp.gcs.Delete", "uri", "uri deleted"),
        _task("io.kestra.plugin.gcp.bigquery.Query", "sql", "jobId destinationTable rows row size uri"),
        _task("io.kestra.plugin.gcp.auth.OauthAccessToken", "", "accessToken"),  # 07_gcp_dbt: token from ADC
        # dbt and Git (dbt flows, GCE git-sync system flow)
        _task("io.kestra.plugin.dbt.cli.DbtCLI", "commands", _SCRIPT_OUTPUTS, **_SCRIPT),
        _task("io.kestra.plugin.git.Clone", "url", "directory"),
        _task("io.kestra.plugin.git.SyncFlows", "url targetNamespace", None),
        _task("io.kestra.plugin.git.SyncNamespaceFiles", "url namespace", None),
        # triggers
        _trigger("io.kestra.plugin.core.trigger.Schedule", "cron"),
        _trigger("io.kestra.plugin.core.trigger.Webhook", "key"),
        _trigger("io.kestra.plugin.core.trigger.Flow"),
        # task runners (the `taskRunner:` of script tasks)
        PluginSpec("io.kestra.plugin.core.runner.Process", "runner"),
        PluginSpec("io.kestra.plugin.scripts.runner.docker.Docker", "runner"),
    )
}

# Old names Kestra 1.x still maps but documents as deprecated; the validator names the fix.
ALIASES: dict[str, str] = {
    "io.kestra.core.tasks.log.Log": "io.kestra.plugin.core.log.Log",
    "io.kestra.core.tasks.debugs.Return": "io.kestra.plugin.core.debug.Return",
    "io.kestra.core.tasks.executions.Fail": "io.kestra.plugin.core.execution.Fail",
    "io.kestra.core.tasks.executions.Labels": "io.kestra.plugin.core.execution.Labels",
    "io.kestra.core.tasks.flows.If": "io.kestra.plugin.core.flow.If",
    "io.kestra.core.tasks.flows.Switch": "io.kestra.plugin.core.flow.Switch",
    "io.kestra.core.tasks.flows.Sequential": "io.kestra.plugin.core.flow.Sequential",
    "io.kestra.core.tasks.flows.Parallel": "io.kestra.plugin.core.flow.Parallel",
    "io.kestra.core.tasks.flows.EachSequential": "io.kestra.plugin.core.flow.ForEach",
    "io.kestra.core.tasks.flows.WorkingDirectory": "io.kestra.plugin.core.flow.WorkingDirectory",
    "io.kestra.core.tasks.flows.Subflow": "io.kestra.plugin.core.flow.Subflow",
    "io.kestra.core.tasks.flows.Flow": "io.kestra.plugin.core.flow.Subflow",
    "io.kestra.core.tasks.storages.PurgeExecution": "io.kestra.plugin.core.storage.PurgeCurrentExecutionFiles",
    "io.kestra.plugin.core.storage.PurgeExecution": "io.kestra.plugin.core.storage.PurgeCurrentExecutionFiles",
    "io.kestra.core.models.triggers.types.Schedule": "io.kestra.plugin.core.trigger.Schedule",
    "io.kestra.core.models.triggers.types.Webhook": "io.kestra.plugin.core.trigger.Webhook",
    "io.kestra.core.models.triggers.types.Flow": "io.kestra.plugin.core.trigger.Flow",
    "io.kestra.plugin.fs.http.Download": "io.kestra.plugin.core.http.Download",
    "io.kestra.plugin.fs.http.Request": "io.kestra.plugin.core.http.Request",
    "io.kestra.plugin.scripts.runner.docker.DockerTaskRunner": "io.kestra.plugin.scripts.runner.docker.Docker",
}
DEPRECATED_PREFIXES = ("io.kestra.core.tasks.", "io.kestra.core.models.triggers.types.")

# Flow-level keys Kestra 1.x accepts (it rejects unknown ones when the flow is saved).
FLOW_KEYS = _words(
    "id namespace description labels inputs outputs variables tasks errors finally afterExecution "
    "triggers pluginDefaults concurrency retry sla checks disabled revision workerGroup"
)
# Task keys Kestra never renders with Pebble (free text: a `{{ example }}` there is not an error).
NOT_RENDERED_KEYS = frozenset({"id", "type", "description"})

INPUT_TYPES = _words(
    "STRING SELECT MULTISELECT INT FLOAT BOOL DATETIME DATE TIME DURATION FILE JSON URI SECRET ARRAY YAML EMAIL"
)
DEPRECATED_INPUT_TYPES = {"ENUM": "SELECT", "BOOLEAN": "BOOL"}
CONCURRENCY_BEHAVIORS = frozenset({"QUEUE", "CANCEL", "FAIL"})
CHECK_BEHAVIORS = frozenset({"BLOCK_EXECUTION", "FAIL_EXECUTION", "CREATE_EXECUTION"})
CHECK_STYLES = frozenset({"ERROR", "SUCCESS", "WARNING", "INFO"})

# Pebble: what an expression may name (Kestra 1.x docs: expressions, functions, filters).
PEBBLE_ROOTS = _words(
    "inputs vars outputs trigger execution flow task taskrun parent parents labels envs globals kestra"
)
PEBBLE_FUNCTIONS = _words(
    "kv secret render renderOnce read fromJson fromIon yaml json now currentEachOutput range max min "
    "fileURI fileExists fileSize isFileEmpty errorLogs printContext encrypt decrypt randomInt "
    "randomPort uuid id ksuid nanoId block parent http tasksWithState"
)
PEBBLE_FILTERS = _words(
    "date dateAdd timestamp timestampMilli timestampMicro timestampNano number numberFormat abs "
    "upper lower capitalize title trim replace split join first last length default slugify "
    "substringBefore substringAfter substringBeforeLast substringAfterLast startsWith endsWith "
    "toJson toIon json yaml jq keys values sort rsort reverse slice merge chunk distinct flatten "
    "base64encode base64decode sha1 sha256 sha512 md5 urlencode urldecode escapeChar indent nindent "
    "string className abbreviate raw escape"
)
PEBBLE_TESTS = _words("defined null empty even odd iterable map json")
