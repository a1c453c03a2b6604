"""Tables of the runyard store (SQLAlchemy Core). Times are epoch seconds (float)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("owner", sa.String(255), nullable=False),
    sa.Column("project_name", sa.String(255)),
    sa.Column("status", sa.String(32), nullable=False, index=True),
    sa.Column("priority", sa.String(16), nullable=False),
    sa.Column("on_task_error", sa.String(32), nullable=False),
    sa.Column("max_number_of_execution", sa.Integer, nullable=False),
    sa.Column("task_retry_delay", sa.Float, nullable=False),
    sa.Column("submitted_at", sa.Float, nullable=False),
    sa.Column("started_at", sa.Float),
    sa.Column("finished_at", sa.Float),
    sa.Column("workflow", sa.JSON, nullable=False),
    sa.Column("variables", sa.JSON, nullable=False),
    sa.Column("generic_information", sa.JSON, nullable=False),
    sa.Column("result_map", sa.JSON, nullable=False),
    sa.Column("source_dir", sa.Text),
    sa.Column("next_number", sa.Integer, nullable=False),
    sa.Column("parent_id", sa.Integer),  # the job whose task submitted this one (with its job token)
)

tasks = sa.Table(
    "tasks",
    metadata,
    sa.Column("job_id", sa.Integer, sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("number", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("template", sa.String(255), nullable=False),
    sa.Column("iteration", sa.Integer, nullable=False),
    sa.Column("replication", sa.Integer, nullable=False),
    sa.Column("depends", sa.JSON, nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("executions", sa.Integer, nullable=False),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("error_base", sa.Integer, nullable=False),
    sa.Column("node", sa.String(255)),
    sa.Column("not_before", sa.Float),
    sa.Column("started_at", sa.Float),
    sa.Column("finished_at", sa.Float),
    sa.Column("result", sa.LargeBinary),
    sa.Column("result_json", sa.JSON),
    sa.Column("result_repr", sa.Text),
    sa.Column("error", sa.Text),
    sa.Column("variables", sa.JSON, nullable=False),
    sa.Column("flow", sa.JSON),
    sa.Column("exit_value", sa.Integer),
    sa.Column("paused_from", sa.String(32)),
    sa.Column("result_metadata", sa.JSON),
    sa.UniqueConstraint("job_id", "name", name="uq_tasks_job_name"),
)

executions = sa.Table(
    "task_executions",
    metadata,
    sa.Column("job_id", sa.Integer, primary_key=True),
    sa.Column("task_number", sa.Integer, primary_key=True),
    sa.Column("execution", sa.Integer, primary_key=True),
    sa.Column("node", sa.String(255)),
    sa.Column("outcome", sa.String(32), nullable=False),
    sa.Column("started_at", sa.Float),
    sa.Column("finished_at", sa.Float),
    sa.Column("output", sa.Text, nullable=False),
    sa.Column("error", sa.Text),
    sa.ForeignKeyConstraint(["job_id", "task_number"], ["tasks.job_id", "tasks.number"], ondelete="CASCADE"),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    # Tasks of this user run as OS uid ``task_uid_base + account_number`` (runyard.nodes.accounts).
    sa.Column("account_number", sa.Integer, unique=True),
)

submission_keys = sa.Table(  # a retried submission with the same Idempotency-Key gets the same job
    "submission_keys",
    metadata,
    sa.Column("owner", sa.String(255), sa.ForeignKey("users.name", ondelete="CASCADE"), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("job_id", sa.Integer, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False, index=True),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),  # sha256 hex: the token itself is never stored
    sa.Column("user_name", sa.String(255), sa.ForeignKey("users.name", ondelete="CASCADE"), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False, index=True),
)

credentials = sa.Table(
    "credentials",
    metadata,
    sa.Column("owner", sa.String(255), primary_key=True),
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("secret", sa.LargeBinary, nullable=False),  # Fernet token
    sa.Column("created_at", sa.Float, nullable=False),
)

node_settings = sa.Table(
    "node_settings",
    metadata,
    sa.Column("node", sa.String(255), primary_key=True),
    sa.Column("locked_by", sa.String(255)),
    sa.Column("locked_at", sa.Float),
    sa.Column("tokens", sa.JSON, nullable=False),
)

sa.Index("ix_jobs_owner_id", jobs.c.owner, jobs.c.id)
sa.Index("ix_jobs_submitted_at", jobs.c.submitted_at)
sa.Index("ix_jobs_status_id", jobs.c.status, jobs.c.id)
sa.Index("ix_jobs_name_id", jobs.c.name, jobs.c.id)  # the portal sorts jobs by name
# Job analytics (runyard.ml.analytics): a user's jobs with what the panels read; jobs with a failed task.
sa.Index(
    "ix_jobs_owner_analytics",
    jobs.c.owner,
    jobs.c.status,
    jobs.c.submitted_at,
    jobs.c.started_at,
    jobs.c.finished_at,
    jobs.c.id,  # PostgreSQL reads only the index then (SQLite's indexes hold the id anyway)
)
sa.Index("ix_tasks_status_job_id", tasks.c.status, tasks.c.job_id)

# Catalog: buckets hold objects; every update of an object is a new revision (1, 2, 3...).
catalog_buckets = sa.Table(
    "catalog_buckets",
    metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("owner", sa.String(255), nullable=False),
    sa.Column("public", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

catalog_objects = sa.Table(
    "catalog_objects",
    metadata,
    sa.Column(
        "bucket_name",
        sa.String(128),
        sa.ForeignKey("catalog_buckets.name", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("last_revision", sa.Integer, nullable=False),
)

catalog_revisions = sa.Table(
    "catalog_revisions",
    metadata,
    sa.Column("bucket_name", sa.String(128), primary_key=True),
    sa.Column("object_name", sa.String(128), primary_key=True),
    sa.Column("revision", sa.Integer, primary_key=True),
    sa.Column("kind", sa.String(255), nullable=False),
    sa.Column("content_type", sa.String(255), nullable=False),
    sa.Column("project_name", sa.String(255)),
    sa.Column("commit_time", sa.Float, nullable=False),
    sa.Column("commit_message", sa.Text, nullable=False),
    sa.Column("author", sa.String(255), nullable=False),
    sa.Column("builtin", sa.Boolean, nullable=False),  # written by the built-in bucket loader
    sa.Column("content", sa.LargeBinary, nullable=False),
    sa.Column("workflow_metadata", sa.JSON),  # what the catalog extracted, for Workflow/* kinds
    sa.ForeignKeyConstraint(
        ["bucket_name", "object_name"],
        ["catalog_objects.bucket_name", "catalog_objects.name"],
        ondelete="CASCADE",
    ),
)

catalog_revision_tags = sa.Table(
    "catalog_revision_tags",
    metadata,
    sa.Column("bucket_name", sa.String(128), primary_key=True),
    sa.Column("object_name", sa.String(128), primary_key=True),
    sa.Column("revision", sa.Integer, primary_key=True),
    sa.Column("tag", sa.String(255), primary_key=True),
    sa.ForeignKeyConstraint(
        ["bucket_name", "object_name", "revision"],
        ["catalog_revisions.bucket_name", "catalog_revisions.object_name", "catalog_revisions.revision"],
        ondelete="CASCADE",
    ),
)

# Service Automation: instances of services, and the jobs of the actions run on them.
service_instances = sa.Table(
    "service_instances",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("service_id", sa.String(255), nullable=False),
    sa.Column("bucket_name", sa.String(128), nullable=False),
    sa.Column("owner", sa.String(255), nullable=False, index=True),
    sa.Column("label", sa.String(255)),  # the INSTANCE_NAME variable
    sa.Column("status", sa.String(64), nullable=False, index=True),
    sa.Column("transition", sa.String(160)),  # "RUNNING -> FINISHED" while an action runs
    sa.Column("transition_job_id", sa.Integer),
    sa.Column("icon", sa.Text),
    sa.Column("variables", sa.JSON, nullable=False),
    sa.Column("deployments", sa.JSON, nullable=False),
    sa.Column("channel", sa.JSON, nullable=False),  # ProActive's synchronization channel of the instance
    sa.Column("node_tokens", sa.JSON, nullable=False),  # [[node, token], ...] the instance added
    sa.Column("ports", sa.JSON, nullable=False),  # host ports reserved for it
    sa.Column("groups", sa.JSON, nullable=False),
    sa.Column("error", sa.Text),  # why it went to ERROR, when the platform knows
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("finished_at", sa.Float),
    # An action recorded before its job is submitted ({"key", "action", "parent_job_id", "asked_at"}):
    # after a crash, its job is found by its submission key (runyard.services.automation).
    sa.Column("pending_action", sa.JSON),
    sqlite_autoincrement=True,  # a cleaned instance's id is never given again: its old jobs still name it
)

service_job_submissions = sa.Table(
    "service_job_submissions",
    metadata,
    sa.Column(
        "instance_id", sa.Integer, sa.ForeignKey("service_instances.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("number", sa.Integer, primary_key=True),
    sa.Column("job_id", sa.Integer, nullable=False, index=True),
    sa.Column("action", sa.String(255), nullable=False),  # bucket/name of the workflow
    sa.Column("transition", sa.String(160), nullable=False),
    sa.Column("parent_job_id", sa.Integer),
    sa.Column("submitted_at", sa.Float, nullable=False),
)

# AutoML: the log entries of a tuner job's optuna study (runyard.store.tuning_journal).
tuning_journal = sa.Table(
    "tuning_journal",
    metadata,
    sa.Column("job_id", sa.Integer, sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("number", sa.Integer, primary_key=True),
    sa.Column("entry", sa.Text, nullable=False),  # one JSON document
)

# Notifications: platform events for a user (a model server's drift...), see runyard.store.notifications.
notifications = sa.Table(
    "notifications",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("owner", sa.String(255), sa.ForeignKey("users.name", ondelete="CASCADE"), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("details", sa.JSON, nullable=False),
    sa.Column("source", sa.String(255), nullable=False),  # service-instance:ID, job:ID or user:NAME
    sa.Column("service_instance_id", sa.Integer),
    sa.Column("read_at", sa.Float),
)
sa.Index("ix_notifications_owner_id", notifications.c.owner, notifications.c.id)
sa.Index("ix_notifications_source_created_at", notifications.c.source, notifications.c.created_at)

# Signals of a job (runyard.store.signals): a task declares it is ready for one, with the variables it takes;
# someone with rights on the job sends it, with values for them; ProActive's signalapi.
job_signals = sa.Table(
    "job_signals",
    metadata,
    sa.Column("job_id", sa.Integer, sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("task_name", sa.String(255)),  # the task that declared it ready (None: sent without it)
    sa.Column("variables", sa.JSON, nullable=False),  # [{"name", "model", "value"}...] the signal takes
    sa.Column("ready_at", sa.Float),
    sa.Column("sent_at", sa.Float),
    sa.Column("sent_by", sa.String(255)),
    sa.Column("sent_values", sa.JSON),  # {name: value} as sent, validated against the models
)

# Synchronization channels (runyard.store.channels): key/value stores a user's tasks share, scoped by owner;
# every key has a version that compare-and-set operations check.
sync_channels = sa.Table(
    "sync_channels",
    metadata,
    sa.Column("owner", sa.String(255), sa.ForeignKey("users.name", ondelete="CASCADE"), primary_key=True),
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("persistent", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

sync_entries = sa.Table(
    "sync_entries",
    metadata,
    sa.Column("owner", sa.String(255), primary_key=True),
    sa.Column("channel", sa.String(255), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),  # one JSON document
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.ForeignKeyConstraint(
        ["owner", "channel"], ["sync_channels.owner", "sync_channels.name"], ondelete="CASCADE"
    ),
)

# The job planner (runyard.planner): a catalog workflow submitted on a schedule, as its owner.
plans = sa.Table(
    "plans",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("owner", sa.String(255), sa.ForeignKey("users.name", ondelete="CASCADE"), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("bucket", sa.String(255), nullable=False),
    sa.Column("workflow", sa.String(255), nullable=False),
    sa.Column("revision", sa.Integer),  # None: the latest revision at each submission
    sa.Column("variables", sa.JSON, nullable=False),
    sa.Column("generic_information", sa.JSON, nullable=False),
    sa.Column("schedule", sa.JSON, nullable=False),  # runyard.planner.schedule.ScheduleSpec as written
    sa.Column("missed", sa.String(16), nullable=False),  # skip, run-once or run-all
    sa.Column("paused", sa.Boolean, nullable=False),
    sa.Column("next_at", sa.Float, index=True),  # the next time not handled yet; None: no more
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sqlite_autoincrement=True,  # a deleted plan's id is never given again: its jobs' records still name it
)
sa.Index("ix_plans_owner_id", plans.c.owner, plans.c.id)

# Each scheduled time a plan handled: claimed (the primary key makes the claim unique), then submitted
# (its job) or failed (why), or skipped (missed while no server ran).
plan_runs = sa.Table(
    "plan_runs",
    metadata,
    sa.Column("plan_id", sa.Integer, sa.ForeignKey("plans.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("scheduled_at", sa.Float, primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),  # claimed, submitted, failed or skipped
    sa.Column("claimed_at", sa.Float, nullable=False),
    sa.Column("finished_at", sa.Float),
    sa.Column("job_id", sa.Integer),
    sa.Column("error", sa.Text),
)

# A job's external endpoints (schedulerapi.addExternalEndpointUrl): links its page shows, by name.
job_endpoints = sa.Table(
    "job_endpoints",
    metadata,
    sa.Column("job_id", sa.Integer, sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("url", sa.String(2048), nullable=False),
    sa.Column("icon", sa.String(2048)),
    sa.Column("added_at", sa.Float, nullable=False),
)

# Service instances a job is attached to (schedulerapi.registerService), with or without their endpoints.
job_services = sa.Table(
    "job_services",
    metadata,
    sa.Column("job_id", sa.Integer, sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "instance_id", sa.Integer, sa.ForeignKey("service_instances.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("with_endpoints", sa.Boolean, nullable=False),
)

# Node sources an admin added at run time (not those of the config file), started again at each start.
node_sources = sa.Table(
    "node_sources",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("type", sa.String(32), nullable=False),  # a built-in type, never ``module:callable``
    sa.Column("options", sa.JSON, nullable=False),
    sa.Column("added_by", sa.String(255), nullable=False),
    sa.Column("added_at", sa.Float, nullable=False),
)

# App Engine (runyard.appengine): Cytomine-compatible tasks (a bundle: descriptor + container image) and
# their runs. Files (descriptors, logos, inputs, outputs) live under the App Engine's storage folder.
app_engine_tasks = sa.Table(
    "app_engine_tasks",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),  # a UUID, as Cytomine's
    sa.Column("namespace", sa.String(255), nullable=False),
    sa.Column("version", sa.String(128), nullable=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("name_short", sa.String(64), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("descriptor", sa.JSON, nullable=False),  # the validated descriptor, as parsed from YAML
    sa.Column("image", sa.String(255), nullable=False),  # the name the image is tagged with on the engine
    sa.Column("image_id", sa.String(80), nullable=False),  # the image's config digest (sha256:...)
    # ``{registry}/{image}`` once pushed to the App Engine's registry (app_engine_registry); else null
    sa.Column("registry_image", sa.String(512)),
    sa.Column("has_logo", sa.Boolean, nullable=False),
    sa.Column("owner", sa.String(255), nullable=False, index=True),  # who uploaded it
    sa.Column("created_at", sa.Float, nullable=False),
    sa.UniqueConstraint("namespace", "version", name="uq_app_engine_tasks_namespace_version"),
)

app_engine_stores = sa.Table(
    "app_engine_stores",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),  # a UUID, as Cytomine's
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("host", sa.String(2048), nullable=False),  # http(s)://host[:port][/path], no trailing /
    sa.Column("is_default", sa.Boolean, nullable=False),  # the one installs download from (one at most)
    sa.Column("created_at", sa.Float, nullable=False),
    sa.UniqueConstraint("name", name="uq_app_engine_stores_name"),
    sa.UniqueConstraint("host", name="uq_app_engine_stores_host"),
)

app_engine_runs = sa.Table(
    "app_engine_runs",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),  # a UUID
    sa.Column(
        "task_id",
        sa.String(36),
        sa.ForeignKey("app_engine_tasks.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("owner", sa.String(255), nullable=False, index=True),
    sa.Column("state", sa.String(16), nullable=False),  # CREATED, PROVISIONED, QUEUING, ..., FINISHED, FAILED
    # {parameter: {"value": <wire value>, "reference": bool, "checksums": {relative path: crc32}}}
    sa.Column("provisions", sa.JSON, nullable=False),
    sa.Column("outputs", sa.JSON),  # {parameter: <wire value>} once read back and validated
    sa.Column("mode", sa.String(16)),  # "local" or "cluster": the run mode it was started in
    sa.Column("secret", sa.String(64), nullable=False),  # of the outputs upload URL (cluster mode)
    sa.Column("job_id", sa.Integer, index=True),  # the runyard job that runs it, once started
    sa.Column("reason", sa.Text),  # why it FAILED
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)
