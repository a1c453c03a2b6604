"""The JSON documents the API answers, as typed dictionaries (what ``--json`` prints, unchanged).

Times are epoch seconds. The server's OpenAPI schema (``/api/v1/docs``) describes each field;
``tests/client/test_documents.py`` pins every document here to the schema of the routes answering it.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict


class Health(TypedDict):
    status: str
    version: str


class Session(TypedDict):
    token: str
    user: str
    role: str
    expires_at: float


class User(TypedDict):
    name: str
    role: str
    """``admin`` or ``user``."""


class JobSummary(TypedDict):
    id: int
    name: str
    owner: str
    project_name: str | None
    status: str
    priority: str
    submitted_at: float
    started_at: float | None
    finished_at: float | None
    parent_id: int | None
    """The job whose task submitted this one."""
    task_counts: dict[str, int]
    """Task status → how many tasks have it."""


class JobList(TypedDict):
    jobs: list[JobSummary]
    """Newest first."""
    total: int
    limit: int
    offset: int


class Task(TypedDict):
    name: str
    """``Process*1`` for a replica, ``Loop#2`` for an iteration."""
    status: str
    iteration: int
    replication: int
    executions: int
    node: str | None
    error: str | None
    result: Any
    """The JSON value, or the value's ``repr`` when it is not JSON."""
    variables: dict[str, Any]
    """Propagated to descendant tasks."""
    started_at: float | None
    finished_at: float | None


class Job(TypedDict):
    id: int
    name: str
    owner: str
    project_name: str | None
    status: str
    priority: str
    variables: dict[str, Any]
    result_map: dict[str, Any]
    submitted_at: float
    started_at: float | None
    finished_at: float | None
    parent_id: int | None
    """The job whose task submitted this one."""
    tasks: list[Task]


class JobResult(TypedDict):
    id: int
    status: str
    results: dict[str, Any]
    """Task name → result of each FINISHED task."""
    errors: dict[str, str]
    """Task name → why it failed."""
    result_map: dict[str, Any]


class GraphTask(TypedDict):
    name: str
    template: str
    """The workflow's task this is an instance of."""
    iteration: int
    replication: int
    block: str
    """``start``, ``end`` or ``none``: where a control-flow block starts or ends."""


class GraphEdge(TypedDict):
    source: str
    target: str
    kind: str
    """``dependency``; ``replicate`` (to a replica); ``if``, ``else``, ``continuation``; ``loop``."""


class JobGraph(TypedDict):
    """A job's task instances as they ran and the links between them."""

    id: int
    tasks: list[GraphTask]
    edges: list[GraphEdge]


class TuningJournalPage(TypedDict):
    entries: list[dict[str, Any]]
    """Optuna journal entries, as the job's tuner wrote them."""
    length: int
    """The journal's length when read: more entries follow unless ``start + len(entries) == length``."""


class AnalyticsQuery(TypedDict):
    """The search as the server understood it (times resolved to epoch seconds)."""

    workflows: list[str]
    projects: list[str]
    statuses: list[str]
    users: list[str]
    """Empty: everyone's jobs."""
    submitted_after: float | None
    submitted_before: float | None
    issue: str | None
    where: list[str]


class AnalyticsIssues(TypedDict):
    finished_with_issues: int
    interrupted: int
    interrupted_by_status: dict[str, int]


class AnalyticsMetrics(TypedDict):
    total: int
    successful: int
    """FINISHED without a failed task."""
    success_ratio: float | None
    in_progress: int
    by_status: dict[str, int]
    issues: AnalyticsIssues
    mean_duration: float | None
    """Seconds from start to end, over the jobs that have both."""


class AnalyticsCharts(TypedDict):
    """Series aligned on ``job_ids`` (oldest first), ``None`` where a job has no value."""

    job_ids: list[int]
    duration: list[float | None]
    variables: dict[str, list[float | None]]
    results: dict[str, list[float | None]]
    result_map: dict[str, list[float | None]]


class Dashboard(TypedDict):
    """Job Analytics: the panels and charts of a search."""

    search: AnalyticsQuery
    metrics: AnalyticsMetrics
    charts: AnalyticsCharts
    columns: list[str]
    """The execution table's columns."""


class ExecutionPage(TypedDict):
    """A page of Job Analytics' execution table."""

    columns: list[str]
    rows: list[dict[str, Any]]
    """One per job: column → value."""
    total: int
    limit: int
    offset: int


class UserspaceEntry(TypedDict):
    name: str
    kind: str
    """``file``, ``folder`` or ``other`` (a link, a FIFO: listed, never followed)."""
    size: int
    modified: float


class UserspaceListing(TypedDict):
    path: str
    entries: list[UserspaceEntry]
    truncated: bool
    """More entries than the server lists: the first ones by name are listed."""


class Notification(TypedDict):
    id: int
    owner: str
    created_at: float
    kind: str
    """What happened: ``drift``..."""
    title: str
    message: str
    details: dict[str, Any]
    source: str
    """Who raised it: ``service-instance:ID``, ``job:ID`` or ``user:NAME``."""
    service_instance_id: int | None
    read_at: float | None


class NotificationList(TypedDict):
    notifications: list[Notification]
    """Newest first."""
    unread: int
    """How many of yours are unread in all."""


class Event(TypedDict):
    """A job or task status change, or a new notification of yours."""

    id: int
    kind: str
    """``job``, ``task`` or ``notification``."""
    job_id: NotRequired[int]
    """Of a job or task event."""
    task: NotRequired[str | None]
    status: NotRequired[str]
    node: NotRequired[str | None]
    owner: NotRequired[str]
    notification: NotRequired[Notification]
    """Of a notification event."""


class Node(TypedDict):
    name: str
    source: str
    host: str
    url: str
    state: str
    """``free``, ``busy``, ``down`` or ``locked``."""
    node_state: str
    """ProActive's name of ``state``: ``FREE``, ``BUSY``, ``DOWN`` or ``LOCKED``."""
    locked: bool
    locked_by: str | None
    locked_at: float | None
    tokens: list[str]
    job_id: int | None
    task: str | None


class NodeSource(TypedDict):
    name: str
    type: str
    origin: str
    """``config`` (the server's config file) or ``runtime`` (added by an admin, removable)."""
    state: str
    """``DEPLOYING``, ``DEPLOYED``, ``UNDEPLOYED`` (``error`` says why), ``SHUTTING_DOWN``."""
    error: str | None
    nodes: int
    states: dict[str, int]
    """How many of its nodes are in each ``state``."""
    added_by: str | None
    added_at: float | None
    options: dict[str, Any] | None
    """Its type's options (admins only)."""


class Bucket(TypedDict):
    name: str
    owner: str
    public: bool
    created_at: float
    object_count: int


class VariableMetadata(TypedDict):
    name: str
    value: str
    model: str | None
    description: str | None
    group: str | None
    advanced: bool
    hidden: bool


class WorkflowMetadata(TypedDict):
    name: str
    project_name: str | None
    description: str | None
    variables: list[VariableMetadata]
    generic_information: dict[str, str]
    tags: list[str]
    tasks: list[str]


class Problem(TypedDict):
    """One thing a submission would be refused for, located as precisely as known."""

    message: str
    source: str | None
    line: int | None
    task: str | None
    field: str | None
    """``variable 'NAME'`` for the value of variable NAME (of ``task`` when set)."""


class CheckedSubmission(TypedDict):
    """A submission checked, nothing submitted (``validate_submission``)."""

    valid: bool
    workflow: WorkflowMetadata | None
    """``None`` when the workflow cannot be read (``problems`` says why)."""
    problems: list[Problem]


class Revision(TypedDict):
    """A revision of a catalog object (a listing shows each object's latest)."""

    bucket: str
    name: str
    revision: int
    kind: str
    content_type: str
    project_name: str | None
    tags: list[str]
    commit_time: float
    commit_message: str
    author: str
    builtin: bool
    metadata: WorkflowMetadata | None
    raw_url: str


class CheckedWorkflow(TypedDict):
    """A workflow checked without being submitted (``validate_workflow``)."""

    valid: bool
    problems: list[Problem]
    """Sorted by line; ``line`` is in the ``text`` answered, when known."""
    warnings: list[Problem]
    """Valid, but a submission would refuse it here (a language runyard cannot run, javaExecutable)."""
    text: str
    format: str
    workflow: dict[str, Any] | None
    """The mapping form (what ``runyard.formats.to_mapping`` gives); ``None`` when unreadable."""


class DiffBlock(TypedDict):
    """Lines of both revisions that match (``equal``) or not (``replace``, ``delete``, ``insert``);
    ``*_start``: the 1-based number of the block's first line on each side."""

    kind: str
    left_start: int
    left: list[str]
    right_start: int
    right: list[str]


class RevisionDiff(TypedDict):
    """Two revisions of a catalog object compared line by line."""

    bucket: str
    name: str
    from_revision: int
    to_revision: int
    identical: bool
    blocks: list[DiffBlock]
    unified: str


class ObjectList(TypedDict):
    objects: list[Revision]
    total: int
    limit: int
    offset: int


class ServiceTransition(TypedDict):
    source: str
    target: str


class ServiceAction(TypedDict):
    name: str
    bucket: str
    revision: int
    transitions: list[ServiceTransition]
    activation: bool
    description: str | None
    icon: str | None
    documentation: str | None
    variables: list[VariableMetadata]


class Service(TypedDict):
    id: str
    bucket: str
    icon: str | None
    activations: list[str]
    actions: list[ServiceAction]


class ServiceEndpoint(TypedDict):
    url: str | None
    proxyfied: bool
    proxyfied_url: str | None


class ServiceJobSubmission(TypedDict):
    job_id: int
    action: str
    transition_state: str
    parent_job_id: int | None
    submission_time: float


class ServiceContainer(TypedDict):
    """A container the platform runs for a service instance."""

    ref: str
    """The container's id, recorded as a deployment of the instance."""
    state: str
    """RUNNING, PAUSED, EXITED or MISSING."""


class ServiceNodeToken(TypedDict):
    node: str
    token: str
    """Held by ``node`` for the instance (``NODE_ACCESS_TOKEN``)."""


class ServiceInstance(TypedDict):
    id: int
    service_id: str
    bucket: str
    owner: str
    label: str | None
    status: str
    transition: str | None
    icon: str | None
    variables: dict[str, str]
    endpoints: dict[str, ServiceEndpoint]
    deployments: list[dict[str, Any]]
    job_submissions: list[ServiceJobSubmission]
    actions: list[str]
    node_tokens: list[ServiceNodeToken]
    ports: list[int]
    groups: list[str]
    channel: dict[str, str]
    error: str | None
    created_at: float
    finished_at: float | None


# -- events of the stream beyond job and task changes (see docs/server.md, "Events") -------------


class ServiceInstanceChange(TypedDict):
    """A service instance as its ``service_instance`` event tells it."""

    id: int
    removed: bool
    """The instance was cleaned: no other field but ``changed`` is sent."""
    changed: list[str]
    """Which of its fields changed: ``status``, ``transition``, ``deployments``, ``variables``..."""
    service_id: NotRequired[str]
    bucket: NotRequired[str]
    owner: NotRequired[str]
    label: NotRequired[str | None]
    status: NotRequired[str]
    transition: NotRequired[str | None]
    transition_job_id: NotRequired[int | None]
    error: NotRequired[str | None]
    endpoints: NotRequired[dict[str, ServiceEndpoint]]
    finished_at: NotRequired[float | None]


class StreamEvent(Event, total=False):
    """Any event of the stream: an :class:`Event`, or of the kinds ``log``, ``node``,
    ``service_instance`` or ``reset`` with these fields."""

    execution: int
    """Of a ``log`` event (with ``job_id``, ``task``): the task's execution that printed ``text``."""
    offset: int
    """Of a ``log`` event: where ``text`` starts in that execution's output, in bytes."""
    text: str
    info: Node
    """Of a ``node`` event (``node`` is its name): the node as ``GET /nodes`` shows it to you."""
    instance: ServiceInstanceChange
    """Of a ``service_instance`` event."""


class JobEndpoint(TypedDict):
    """A link a job's page shows (``schedulerapi.addExternalEndpointUrl``)."""

    name: str
    url: str
    icon: str | None


class AttachedService(TypedDict):
    """A service instance attached to a job (``schedulerapi.registerService``)."""

    instance_id: int
    with_endpoints: bool


class JobEndpoints(TypedDict):
    endpoints: list[JobEndpoint]
    services: list[AttachedService]
