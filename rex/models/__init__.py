"""ORM models: the whole schema, one class per table, grouped by domain."""

from rex.models.access import (
    Audit,
    Bookmark,
    Filter,
    Filtering,
    Permission,
    PersonalAccessToken,
    Role,
    User,
    UserRole,
)
from rex.models.automation import Playbook, PlaybookRun, VaultEntry, Webhook, WebhookDelivery
from rex.models.base import NAMING, Base, Timestamps, UTCDateTime, utcnow
from rex.models.hosts import Host, HostFact, HostParameter, KnownHostKey
from rex.models.jobs import (
    HostRun,
    Job,
    JobDefinitionState,
    JobInvocation,
    JobInvocationInput,
    OutputEvent,
    RecurringLogic,
)
from rex.models.templates import JobTemplate, RemoteExecutionFeature, TemplateInput

__all__ = [
    "NAMING", "Audit", "Base", "Bookmark", "Filter", "Filtering", "Host", "HostFact",
    "HostParameter", "HostRun", "Job", "JobDefinitionState", "JobInvocation",
    "JobInvocationInput", "JobTemplate", "KnownHostKey", "OutputEvent", "Permission",
    "PersonalAccessToken", "Playbook", "PlaybookRun", "RecurringLogic",
    "RemoteExecutionFeature", "Role", "TemplateInput", "Timestamps", "UTCDateTime", "User",
    "UserRole", "VaultEntry", "Webhook", "WebhookDelivery", "utcnow",
]
