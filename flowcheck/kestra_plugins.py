"""The one allowlist of Kestra 1.x plugin types this repository's flows may use.

Kestra rejects a flow whose `type` it does not know, and old aliases (`io.kestra.core.tasks.*`,
`io.kestra.plugin.fs.http.*`) are on their way out: a learner who copies an old snippet gets a
flow that works today and breaks on the next upgrade. Every type used under flows/ (course
flows, the dbt flows, the GCE system flows) must be listed here, with the properties
Kestra requires, the properties that hold nested tasks, and the outputs other tasks may read.
Sources: the plugin pages on kestra.io for Kestra 1.3 and the plugins' source (kestra-io/kestra,
kestra-io/plugin-*), one line per type below.

`required`: the properties a task cannot run without: marked Required on the plugin page
(Kestra rejects the flow when it is saved), or, where noted, not marked but dereferenced
unconditionally at run time (the task would fail on its first run instead).
`properties`: every property the type accepts besides the ones all tasks (or triggers) share.
Kestra rejects a flow with an unknown property ("Unrecognized field"), so for the types the
repository's flows use the validator reports any other key; `None` leaves a type unchecked.

Core types (`io.kestra.plugin.core.*`): their accepted properties are not written by hand but
read from Kestra itself (`flowcheck/kestra_core_properties.json`, rewritten by `make kestra-properties`;
tests/flows/test_kestra_judge.py asks Kestra again and fails when the file drifts). The plugins'
lists below are read from their source: their Maven artifacts are not served here, so no Kestra
on this machine can confirm them (tools/kestra/pom.xml).

Adding a plugin: add one `_task(...)`/`_trigger(...)` line, then add a flow that uses it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

# "provider" and "embeddings": plugins that sit inside a task property (plugin-ai's model providers
# and embedding stores), checked like a task runner: known type, required and known properties.
Kind = Literal["task", "trigger", "runner", "provider", "embeddings"]


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
    # The type's own properties (see the module docstring); None = unknown keys not checked.
    properties: frozenset[str] | None = None
    # Extra Pebble names this task provides to its own properties (e.g. DuckDB's workingDir).
    provides: frozenset[str] = frozenset()
    # True when the task runs a container image (containerImage must then be pinned).
    container: bool = False
    # Properties holding one nested plugin, with the kind it must be (`provider: {type: ...}`).
    plugins: tuple[tuple[str, Kind], ...] = ()


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _task(
    type_: str, required: str = "", outputs: str | None = "", properties: str | None = None, **extra: object
) -> PluginSpec:
    return PluginSpec(
        type=type_,
        kind="task",
        required=frozenset(required.split()),
        outputs=None if outputs is None else frozenset(outputs.split()),
        properties=None if properties is None else _words(properties),
        **extra,  # type: ignore[arg-type]
    )


def _trigger(type_: str, required: str = "", properties: str | None = None) -> PluginSpec:
    return _nested(type_, "trigger", required, properties)


def _runner(type_: str, properties: str | None = None) -> PluginSpec:
    return PluginSpec(type=type_, kind="runner", properties=None if properties is None else _words(properties))


def _nested(type_: str, kind: Kind, required: str = "", properties: str | None = None) -> PluginSpec:
    return PluginSpec(
        type=type_,
        kind=kind,
        required=frozenset(required.split()),
        outputs=None,
        properties=None if properties is None else _words(properties),
    )


# Properties every task has (io.kestra.core.models.tasks.Task), every trigger
# (io.kestra.core.models.triggers.AbstractTrigger) and every task runner.
COMMON_TASK_KEYS = _words(
    "id type version description retry timeout disabled workerGroup logLevel allowFailure logToFile runIf "
    "allowWarning taskCache"
)
COMMON_TRIGGER_KEYS = _words(
    "id type version description conditions disabled workerGroup logLevel logToFile stopAfter failOnTriggerError"
)
COMMON_RUNNER_KEYS = _words("type version")
# A nested plugin (io.kestra.core.plugins.AdditionalPlugin declares only `type`); `version` as for runners.
COMMON_NESTED_KEYS = COMMON_RUNNER_KEYS
# Flowable tasks: their own error and finally branches hold tasks too.
_FLOWABLE_LISTS = ("errors", "finally")


_SCRIPT = {"provides": frozenset({"workingDir", "outputDir"}), "container": True}
_SCRIPT_OUTPUTS = "exitCode outputFiles vars taskRunner"
_JDBC_QUERY_OUTPUTS = "row rows size uri"
# AbstractExecScript (kestra-io/kestra script module), the base of every script and CLI task;
# runner, docker, outputDirectory and warningOnStdErr are deprecated but still accepted.
_EXEC_SCRIPT = (
    "runner taskRunner containerImage beforeCommands env warningOnStdErr interpreter failFast namespaceFiles "
    "inputFiles outputFiles outputDirectory targetOS docker"
)
# AbstractPythonExecScript (plugin-script-python), the base of both python tasks.
_PYTHON_EXEC = _EXEC_SCRIPT + " dependencies pythonVersion dependencyCacheEnabled packageManager"
_PYTHON_SCRIPT = _PYTHON_EXEC + " script"
# AbstractJdbcBaseQuery (plugin-jdbc); store/fetchOne/fetch are the deprecated fetchType spellings.
_JDBC_QUERY = "url username password timeZoneId sql afterSQL fetchType fetchSize parameters store fetchOne fetch"
_PG_SSL = "ssl sslMode sslRootCert sslCert sslKey sslKeyPassword"
# AbstractGcs / AbstractBigquery (plugin-gcp): credentials and project of every GCP task.
_GCP = "projectId serviceAccount impersonatedServiceAccount scopes"
# plugin-ai (kestra-io/plugin-ai v1.16.0, built against Kestra 1.3.17; its Maven artifact is not served
# here): io.kestra.plugin.ai.domain.AIOutput, the outputs of both chat tasks.
_GIT_SYNC = (
    "url username password privateKey passphrase trustedCaPemPath noProxy connectTimeout readTimeout gitConfig "
    "cloneSubmodules dryRun failOnMissingDirectory branch gitDirectory delete"
)
_AI_OUTPUTS = (
    "textOutput jsonOutput tokenUsage finishReason toolExecutions intermediateResponses requestDuration outputFiles "
    "thinking sources guardrailViolated guardrailViolationMessage"
)

PLUGINS: dict[str, PluginSpec] = {
    spec.type: spec
    for spec in (
        # core: logging, HTTP, execution control, flow control, storage
        _task("io.kestra.plugin.core.log.Log", "message"),
        _task(
            "io.kestra.plugin.core.http.Download",
            "uri",
            "uri code headers length",
            "uri method body contentType formData headers options sslOptions failOnEmptyResponse saveAs allowFailed",
        ),
        _task("io.kestra.plugin.core.http.Request", "uri", "uri code headers body encryptedBody formData"),
        _task("io.kestra.plugin.core.execution.Fail", properties="condition errorMessage"),
        _task("io.kestra.plugin.core.execution.Labels", "labels", properties="labels"),
        _task("io.kestra.plugin.core.flow.If", "condition then", task_lists=("then", "else", *_FLOWABLE_LISTS)),
        _task(
            "io.kestra.plugin.core.flow.Switch",
            "value",
            "value defaults",
            task_lists=("defaults", *_FLOWABLE_LISTS),
            task_maps=("cases",),
        ),
        _task("io.kestra.plugin.core.flow.Sequential", "tasks", task_lists=("tasks", *_FLOWABLE_LISTS)),
        _task("io.kestra.plugin.core.flow.Parallel", "tasks", task_lists=("tasks", *_FLOWABLE_LISTS)),
        _task("io.kestra.plugin.core.flow.ForEach", "values tasks", None, task_lists=("tasks", *_FLOWABLE_LISTS)),
        _task(
            "io.kestra.plugin.core.flow.WorkingDirectory",
            "tasks",
            "uris",
            "cache namespaceFiles inputFiles outputFiles",
            task_lists=("tasks", *_FLOWABLE_LISTS),
            provides=frozenset({"workingDir"}),
        ),
        _task(
            "io.kestra.plugin.core.flow.Subflow",
            "namespace flowId",
            "executionId outputs state",
            "namespace flowId revision inputs labels wait transmitFailed inheritLabels restartBehavior scheduleDate "
            "outputs",
        ),
        _task("io.kestra.plugin.core.storage.PurgeCurrentExecutionFiles", "", "uris", ""),
        _task("io.kestra.plugin.core.debug.Return", "format", "value"),
        _task("io.kestra.plugin.core.flow.Sleep", "duration"),  # the course's 01_hello_world
        _task("io.kestra.plugin.core.output.OutputValues", "values", "values"),
        _task("io.kestra.plugin.core.kv.Set", "key value"),
        _task("io.kestra.plugin.core.kv.Get", "key", "value"),
        # scripts (Docker task runner by default: the image must be pinned)
        _task("io.kestra.plugin.scripts.python.Script", "script", _SCRIPT_OUTPUTS, _PYTHON_SCRIPT, **_SCRIPT),
        _task(
            "io.kestra.plugin.scripts.python.Commands",
            "commands",
            _SCRIPT_OUTPUTS,
            _PYTHON_EXEC + " commands",
            **_SCRIPT,
        ),
        _task("io.kestra.plugin.scripts.shell.Script", "script", _SCRIPT_OUTPUTS, **_SCRIPT),
        _task(
            "io.kestra.plugin.scripts.shell.Commands",
            "commands",
            _SCRIPT_OUTPUTS,
            _EXEC_SCRIPT + " commands",
            **_SCRIPT,
        ),
        # databases
        _task(
            "io.kestra.plugin.jdbc.postgresql.Queries",
            "url sql",
            "outputs",
            f"{_JDBC_QUERY} transaction outputFiles {_PG_SSL}",
        ),
        _task("io.kestra.plugin.jdbc.postgresql.Query", "url sql", _JDBC_QUERY_OUTPUTS, f"{_JDBC_QUERY} {_PG_SSL}"),
        # url and table are not marked Required, but COPY cannot run without them.
        _task(
            "io.kestra.plugin.jdbc.postgresql.CopyIn",
            "url from table",
            "rowCount",
            f"from url username password {_PG_SSL} table columns format oids freeze delimiter nullString header "
            "quote escape forceQuote forceNotNull forceNull encoding socketTimeout",
        ),
        _task("io.kestra.plugin.jdbc.postgresql.CopyOut", "url", "rowCount uri"),
        _task(
            "io.kestra.plugin.jdbc.duckdb.Query",
            "sql",
            _JDBC_QUERY_OUTPUTS + " outputFiles databaseUri",
            f"{_JDBC_QUERY} inputFiles outputFiles databaseUri outputDbFile",
            provides=frozenset({"workingDir", "outputFiles"}),
        ),
        # plugin-jdbc v1.15.5 (built against Kestra 1.3.19): plugin-jdbc-duckdb's Queries.java and
        # DuckDbQueryInterface.java, on AbstractJdbcQueries (`transaction`) and AbstractJdbcBaseQuery.
        _task(
            "io.kestra.plugin.jdbc.duckdb.Queries",
            "sql",
            "outputs outputFiles databaseUri",
            f"{_JDBC_QUERY} transaction inputFiles outputFiles databaseUri outputDbFile communityExtensions",
            provides=frozenset({"workingDir", "outputFiles"}),
        ),
        # Google Cloud (credentials: Application Default Credentials, never a serviceAccount key)
        # from and to are not marked Required, but the upload dereferences both.
        _task(
            "io.kestra.plugin.gcp.gcs.Upload",
            "from to",
            "uri",
            f"{_GCP} from to contentType contentEncoding contentDisposition cacheControl",
        ),
        _task("io.kestra.plugin.gcp.gcs.Delete", "uri", "uri deleted"),
        _task(
            "io.kestra.plugin.gcp.bigquery.Query",
            "sql",
            "jobId destinationTable rows row size uri",
            f"{_GCP} location retryAuto retryReasons retryMessages sql legacySql fetch store fetchOne fetchType "
            "clusteringFields destinationTable schemaUpdateOptions timePartitioningField timePartitioningType "
            "rangePartitioningField rangePartitioningStart rangePartitioningEnd rangePartitioningInterval "
            "writeDisposition createDisposition jobTimeout labels defaultDataset priority allowLargeResults "
            "useQueryCache flattenResults dryRun useLegacySql maximumBillingTier maximumBytesBilled maxResults",
        ),
        _task("io.kestra.plugin.gcp.auth.OauthAccessToken", "", "accessToken", _GCP),  # gcp_dbt: token from ADC
        # AI (10_chat_without_rag, 11_chat_with_rag), read from plugin-ai's source (see _AI_OUTPUTS): the
        # required ones are @NotNull without a default; `aiResponse` / `completion` are deprecated outputs.
        _task(
            "io.kestra.plugin.ai.completion.ChatCompletion",
            "messages provider",
            _AI_OUTPUTS + " aiResponse",
            "messages provider configuration tools guardrails observability",
            plugins=(("provider", "provider"),),
        ),
        _task(
            "io.kestra.plugin.ai.rag.ChatCompletion",
            "prompt chatProvider",
            _AI_OUTPUTS + " completion",
            "systemMessage prompt embeddings embeddingProvider chatProvider chatConfiguration "
            "contentRetrieverConfiguration contentRetrievers tools memory guardrails",
            plugins=(("chatProvider", "provider"), ("embeddingProvider", "provider"), ("embeddings", "embeddings")),
        ),
        _task(
            "io.kestra.plugin.ai.rag.IngestDocument",
            "provider embeddings",
            "ingestedDocuments inputTokenCount outputTokenCount totalTokenCount embeddingStoreOutputs",
            "provider embeddings fromPath fromInternalURIs fromExternalURLs fromDocuments metadata documentSplitter "
            "drop bulkSize",
            plugins=(("provider", "provider"), ("embeddings", "embeddings")),
        ),
        # ModelProvider: modelName (@NotNull), baseUrl, clientPem, caPem; GoogleGemini adds apiKey (needed
        # unless clientPem authenticates, so not required) and embeddingModelConfiguration.
        _nested(
            "io.kestra.plugin.ai.provider.GoogleGemini",
            "provider",
            "modelName",
            "modelName baseUrl clientPem caPem apiKey embeddingModelConfiguration",
        ),
        # Embeddings kept in the namespace's KV store (key `<flow id>-embedding-store` unless kvName).
        _nested("io.kestra.plugin.ai.embeddings.KestraKVStore", "embeddings", "", "kvName"),
        # dbt (dbt flows)
        _task(
            "io.kestra.plugin.dbt.cli.DbtCLI",
            "commands",
            _SCRIPT_OUTPUTS,
            f"{_EXEC_SCRIPT} commands profiles projectDir parseRunResults storeManifest loadManifest logFormat engine",
            **_SCRIPT,
        ),
        # Git (the GCE git-sync system flow), read from plugin-git v1.7.1, the release built for Kestra 1.3
        # (src/main/java/io/kestra/plugin/git/): AbstractGitTask (url username password privateKey
        # passphrase trustedCaPemPath noProxy connectTimeout readTimeout gitConfig), AbstractCloningTask
        # (cloneSubmodules), AbstractSyncTask (dryRun failOnMissingDirectory), then each class's own.
        # `url` has no @NotNull but the clone dereferences it; SyncFlows.targetNamespace is @NotNull;
        # SyncNamespaceFiles.namespace defaults to the flow's namespace (`system` here, so always set).
        _task(
            "io.kestra.plugin.git.SyncFlows",
            "url targetNamespace",
            "flows",
            f"{_GIT_SYNC} targetNamespace includeChildNamespaces ignoreInvalidFlows",
        ),
        _task("io.kestra.plugin.git.SyncNamespaceFiles", "url", "files", f"{_GIT_SYNC} namespace"),
        # triggers
        _trigger(
            "io.kestra.plugin.core.trigger.Schedule",
            "cron",
            "cron withSeconds timezone inputs lateMaximumDelay backfill recoverMissedSchedules",
        ),
        _trigger("io.kestra.plugin.core.trigger.Webhook", "key"),
        _trigger("io.kestra.plugin.core.trigger.Flow"),
        # task runners (the `taskRunner:` of script tasks)
        _runner("io.kestra.plugin.core.runner.Process", ""),  # no properties of its own (the course sets none)
        _runner(
            "io.kestra.plugin.scripts.runner.docker.Docker",
            "host config credentials user entryPoint extraHosts networkMode portBindings volumes pullPolicy "
            "deviceRequests cpu memory shmSize privileged fileHandlingStrategy delete wait killGracePeriod resume",
        ),
    )
}

CORE_PREFIX = "io.kestra.plugin.core."
CORE_PROPERTIES_FILE = Path(__file__).with_name("kestra_core_properties.json")


def is_core(type_: str) -> bool:
    return type_.startswith(CORE_PREFIX)


def core_types() -> dict[str, Kind]:
    """The core tasks and triggers whose properties Kestra reports (runners are reached only via plugins)."""
    return {t: s.kind for t, s in PLUGINS.items() if is_core(t) and s.kind != "runner"}


def _with_kestra_properties(plugins: dict[str, PluginSpec]) -> dict[str, PluginSpec]:
    """Core types take the exact property set Kestra reported (see the module docstring)."""
    known = json.loads(CORE_PROPERTIES_FILE.read_text(encoding="utf-8"))["properties"]
    return {t: replace(s, properties=frozenset(known[t])) if t in known else s for t, s in plugins.items()}


PLUGINS = _with_kestra_properties(PLUGINS)

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
    "date dateAdd timestamp timestampMilli timestampMicro timestampNano number numberformat abs "
    "upper lower capitalize title trim replace split join first last length default slugify "
    "substringBefore substringAfter substringBeforeLast substringAfterLast startsWith endsWith "
    "toJson toIon json yaml jq keys values sort rsort reverse slice merge chunk distinct flatten "
    "base64encode base64decode sha1 sha256 sha512 md5 urlencode urldecode escapeChar indent nindent "
    "string className abbreviate raw escape"
)
PEBBLE_TESTS = _words("defined null empty even odd iterable map json")
