"""What every rex starts with: permissions and built-in roles, the built-in playbooks, the
"Run Command - Script Default" template and its feature."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from rex.builtin_playbooks import seed_playbooks
from rex.models import JobTemplate, RemoteExecutionFeature, TemplateInput
from rex.permissions import seed_access

__all__ = ["RUN_COMMAND", "seed"]

RUN_COMMAND = "Run Command - Script Default"


async def seed(session: AsyncSession) -> None:
    """Create the seeded roles, template and `run_script` feature when missing (idempotent)."""
    await seed_access(session)
    await seed_playbooks(session)
    template = await session.scalar(select(JobTemplate).where(JobTemplate.name == RUN_COMMAND))
    if template is None:
        template = JobTemplate(
            name=RUN_COMMAND,
            template='{{ input("command") }}',
            job_category="Commands",
            provider_type="script",
            description_format="Run %{command}",
            description="Run a command or a script given as the `command` input",
            inputs=[
                TemplateInput(
                    name="command", input_type="user", required=True,
                    description="Command to run on the host",
                )
            ],
        )
        session.add(template)
        await session.flush()
    feature = await session.scalar(
        select(RemoteExecutionFeature).where(RemoteExecutionFeature.label == "run_script")
    )
    if feature is None:
        session.add(
            RemoteExecutionFeature(
                label="run_script", name="Run Script",
                description="Run a command or script on hosts", job_template_id=template.id,
            )
        )
        await session.flush()
