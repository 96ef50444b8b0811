"""The one allowlist of Kestra 1.x plugin types this repository's flows may use.

Kestra rejects a flow whose `type` it does not know, and old aliases (`io.kestra.core.tasks.*`,
`io.kestra.plugin.fs.http.*`) are on their way out: a learner who copies an old snippet gets a
flow that works today and breaks on the next upgrade. Every type used under flows/ (course
flows, the dbt flows, the GCE system flows) must be listed here, with the properties
Kestra requires and the properties that hold nested tasks.
Sources: each plugin's Java source at the newest release built against Kestra 1.3 (SOURCES below;
its `kestraVersion` in gradle.properties), its classes' @PluginProperty / Property<...> fields and
those of their superclasses; the Docker task runner's and script base class's from Kestra's own
`io.kestra:script` jar at KESTRA_VERSION.

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
    # The type's own properties (see the module docstring); None = unknown keys not checked.
    properties: frozenset[str] | None = None
    # True when the task runs a container image (containerImage must then be pinned).
    container: bool = False
    # Properties holding one nested plugin, with the kind it must be (`provider: {type: ...}`).
    plugins: tuple[tuple[str, Kind], ...] = ()


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _task(type_: str, required: str = "", properties: str | None = None, **extra: object) -> PluginSpec:
    return PluginSpec(
        type=type_,
        kind="task",
        required=frozenset(required.split()),
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


_SCRIPT = {"container": True}
# AbstractExecScript (kestra-io/kestra script module), the base of every script and CLI task;
# runner, docker, outputDirectory and warningOnStdErr are deprecated but still accepted.
_EXEC_SCRIPT = (
    "runner taskRunner containerImage beforeCommands env warningOnStdErr interpreter failFast namespaceFiles "
    "inputFiles outputFiles outputDirectory targetOS docker"
)
# AbstractPythonExecScript (plugin-script-python), the base of both python tasks.
_PYTHON_EXEC = (
    _EXEC_SCRIPT + " dependencies pythonVersion dependencyCacheEnabled packageManager uvAutoInstallEnabled "
    "uvInstallerSha256 uvInstallerVersion"
)
_PYTHON_SCRIPT = _PYTHON_EXEC + " script"
# AbstractJdbcBaseQuery (plugin-jdbc); store/fetchOne/fetch are the deprecated fetchType spellings.
_JDBC_CONNECTION = "url username password connectionPooling connectionPoolSize scheme"
_JDBC_QUERY = f"{_JDBC_CONNECTION} timeZoneId sql afterSQL fetchType fetchSize parameters store fetchOne fetch"
_PG_SSL = "ssl sslMode sslRootCert sslCert sslKey sslKeyPassword"
# AbstractCopy (plugin-jdbc-postgres): the COPY options both directions share.
_PG_COPY = (
    "table columns format oids freeze delimiter nullString header quote escape forceQuote forceNotNull forceNull "
    "encoding socketTimeout"
)
# AbstractCloningTask (plugin-git): connection and credentials of every task that clones; AbstractSyncTask adds
# what a sync reads and whether it deletes.
_GIT_CLONING = (
    "url username password privateKey passphrase cloneSubmodules connectTimeout readTimeout gitConfig noProxy "
    "trustedCaPemPath"
)
_GIT_SYNC = f"{_GIT_CLONING} branch gitDirectory delete dryRun failOnMissingDirectory"
# AbstractGcs / AbstractBigquery (plugin-gcp): credentials and project of every GCP task.
_GCP = "projectId serviceAccount impersonatedServiceAccount scopes"

PLUGINS: dict[str, PluginSpec] = {
    spec.type: spec
    for spec in (
        # core: logging, HTTP, execution control, flow control, storage
        _task("io.kestra.plugin.core.log.Log", "message"),
        _task(
            "io.kestra.plugin.core.http.Download",
            "uri",
            "uri method body contentType formData headers options sslOptions failOnEmptyResponse saveAs allowFailed",
        ),
        _task("io.kestra.plugin.core.http.Request", "uri"),
        _task("io.kestra.plugin.core.execution.Fail", properties="condition errorMessage"),
        _task("io.kestra.plugin.core.execution.Labels", "labels", properties="labels"),
        _task("io.kestra.plugin.core.flow.If", "condition then", task_lists=("then", "else", *_FLOWABLE_LISTS)),
        _task(
            "io.kestra.plugin.core.flow.Switch",
            "value",
            task_lists=("defaults", *_FLOWABLE_LISTS),
            task_maps=("cases",),
        ),
        _task("io.kestra.plugin.core.flow.Sequential", "tasks", task_lists=("tasks", *_FLOWABLE_LISTS)),
        _task("io.kestra.plugin.core.flow.Parallel", "tasks", task_lists=("tasks", *_FLOWABLE_LISTS)),
        _task("io.kestra.plugin.core.flow.ForEach", "values tasks", task_lists=("tasks", *_FLOWABLE_LISTS)),
        _task(
            "io.kestra.plugin.core.flow.WorkingDirectory",
            "tasks",
            "cache namespaceFiles inputFiles outputFiles",
            task_lists=("tasks", *_FLOWABLE_LISTS),
        ),
        _task(
            "io.kestra.plugin.core.flow.Subflow",
            "namespace flowId",
            "namespace flowId revision inputs labels wait transmitFailed inheritLabels restartBehavior scheduleDate "
            "outputs",
        ),
        _task("io.kestra.plugin.core.storage.PurgeCurrentExecutionFiles", "", ""),
        _task("io.kestra.plugin.core.debug.Return", "format"),
        _task("io.kestra.plugin.core.flow.Sleep", "duration"),  # the course's 01_hello_world
        _task("io.kestra.plugin.core.output.OutputValues", "values"),
        _task("io.kestra.plugin.core.kv.Set", "key value"),
        _task("io.kestra.plugin.core.kv.Get", "key"),
        # scripts (Docker task runner by default: the image must be pinned)
        _task("io.kestra.plugin.scripts.python.Script", "script", _PYTHON_SCRIPT, **_SCRIPT),
        _task(
            "io.kestra.plugin.scripts.python.Commands",
            "commands",
            _PYTHON_EXEC + " commands",
            **_SCRIPT,
        ),
        _task("io.kestra.plugin.scripts.shell.Script", "script", _EXEC_SCRIPT + " script", **_SCRIPT),
        _task("io.kestra.plugin.scripts.shell.Commands", "commands", _EXEC_SCRIPT + " commands", **_SCRIPT),
        # databases
        _task(
            "io.kestra.plugin.jdbc.postgresql.Queries",
            "url sql",
            f"{_JDBC_QUERY} transaction outputFiles {_PG_SSL}",
        ),
        _task("io.kestra.plugin.jdbc.postgresql.Query", "url sql", f"{_JDBC_QUERY} outputFiles {_PG_SSL}"),
        # url and table are not marked Required, but COPY cannot run without them.
        _task(
            "io.kestra.plugin.jdbc.postgresql.CopyIn",
            "url from table",
            f"from {_JDBC_CONNECTION} {_PG_SSL} {_PG_COPY}",
        ),
        _task("io.kestra.plugin.jdbc.postgresql.CopyOut", "url", f"sql {_JDBC_CONNECTION} {_PG_SSL} {_PG_COPY}"),
        _task(
            "io.kestra.plugin.jdbc.duckdb.Query",
            "sql",
            f"{_JDBC_QUERY} inputFiles outputFiles databaseUri outputDbFile communityExtensions",
        ),
        # plugin-jdbc v1.15.5 (built against Kestra 1.3.19): plugin-jdbc-duckdb's Queries.java and
        # DuckDbQueryInterface.java, on AbstractJdbcQueries (`transaction`) and AbstractJdbcBaseQuery.
        _task(
            "io.kestra.plugin.jdbc.duckdb.Queries",
            "sql",
            f"{_JDBC_QUERY} transaction inputFiles outputFiles databaseUri outputDbFile communityExtensions",
        ),
        # Google Cloud (credentials: Application Default Credentials, never a serviceAccount key)
        # from and to are not marked Required, but the upload dereferences both.
        _task(
            "io.kestra.plugin.gcp.gcs.Upload",
            "from to",
            f"{_GCP} from to contentType contentEncoding contentDisposition cacheControl validateChecksum "
            "expectedMd5 expectedCrc32c",
        ),
        _task("io.kestra.plugin.gcp.gcs.Delete", "uri", f"{_GCP} uri errorOnMissing"),
        _task(
            "io.kestra.plugin.gcp.bigquery.Query",
            "sql",
            f"{_GCP} location retryAuto retryReasons retryMessages sql legacySql fetch store fetchOne fetchType "
            "clusteringFields destinationTable schemaUpdateOptions timePartitioningField timePartitioningType "
            "rangePartitioningField rangePartitioningStart rangePartitioningEnd rangePartitioningInterval "
            "writeDisposition createDisposition jobTimeout labels defaultDataset priority allowLargeResults "
            "useQueryCache flattenResults dryRun useLegacySql maximumBillingTier maximumBytesBilled maxResults",
        ),
        _task("io.kestra.plugin.gcp.auth.OauthAccessToken", "", _GCP),  # gcp_dbt: token from ADC
        # AI (10_chat_without_rag, 11_chat_with_rag), read from plugin-ai's source (kestra-io/plugin-ai v1.16.0,
        # built against Kestra 1.3.17): the required ones are @NotNull without a default.
        _task(
            "io.kestra.plugin.ai.completion.ChatCompletion",
            "messages provider",
            "messages provider configuration tools guardrails observability",
            plugins=(("provider", "provider"),),
        ),
        _task(
            "io.kestra.plugin.ai.rag.ChatCompletion",
            "prompt chatProvider",
            "systemMessage prompt embeddings embeddingProvider chatProvider chatConfiguration "
            "contentRetrieverConfiguration contentRetrievers tools memory guardrails",
            plugins=(("chatProvider", "provider"), ("embeddingProvider", "provider"), ("embeddings", "embeddings")),
        ),
        _task(
            "io.kestra.plugin.ai.rag.IngestDocument",
            "provider embeddings",
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
            f"{_GIT_SYNC} targetNamespace includeChildNamespaces ignoreInvalidFlows",
        ),
        _task("io.kestra.plugin.git.SyncNamespaceFiles", "url", f"{_GIT_SYNC} namespace"),
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

# Where each plugin package's property lists were read: repository, release tag, the Kestra it is built against.
SOURCES: dict[str, str] = {
    "io.kestra.plugin.jdbc.": "kestra-io/plugin-jdbc v1.15.5 (Kestra 1.3.19)",
    "io.kestra.plugin.scripts.python.": "kestra-io/plugin-scripts v1.9.8 (Kestra 1.3.19), plugin-script-python",
    "io.kestra.plugin.scripts.shell.": "kestra-io/plugin-scripts v1.9.8 (Kestra 1.3.19), plugin-script-shell",
    "io.kestra.plugin.scripts.runner.docker.": "Kestra's own io.kestra:script module at KESTRA_VERSION",
    "io.kestra.plugin.gcp.": "kestra-io/plugin-gcp v2.11.0 (Kestra 1.3.19)",
    "io.kestra.plugin.dbt.": "kestra-io/plugin-dbt v1.7.3 (Kestra 1.3.26)",
    "io.kestra.plugin.ai.": "kestra-io/plugin-ai v1.16.0 (Kestra 1.3.17)",
    "io.kestra.plugin.git.": "kestra-io/plugin-git v1.7.1 and v2.0.11 (Kestra 1.3.13): the same properties",
}


def source_of(type_: str) -> str | None:
    """The release a plugin type's property list was read from (None for Kestra's core types)."""
    return next((source for prefix, source in SOURCES.items() if type_.startswith(prefix)), None)


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
