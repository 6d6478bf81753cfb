"""The playbooks rex ships: a baseline check, a patch run behind a window and a gate, TLS expiry."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from rex.models import Playbook
from rex.playbooks import create_playbook

__all__ = ["BUILTIN_PLAYBOOKS", "seed_playbooks"]

_PACKAGES = r"""missing=""
for p in $(echo "$PACKAGES" | tr ',' ' '); do
  if command -v dpkg-query >/dev/null 2>&1; then
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
  elif command -v rpm >/dev/null 2>&1; then
    rpm -q "$p" >/dev/null 2>&1 || missing="$missing $p"
  else
    echo "neither dpkg nor rpm here: cannot check packages" >&2; exit 2
  fi
done
if [ -n "$missing" ]; then echo "missing packages:$missing"; exit 1; fi
echo "packages present: $PACKAGES"
"""

_SERVICES = r"""down=""
for s in $(echo "$SERVICES" | tr ',' ' '); do
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    systemctl is-active --quiet "$s" || down="$down $s"
  else
    pgrep -x "$s" >/dev/null 2>&1 || down="$down $s"
  fi
done
if [ -n "$down" ]; then echo "services not running:$down"; exit 1; fi
echo "services running: $SERVICES"
"""

_WINDOW = r"""now=$(date -u +%H%M)
start=$(echo "$WINDOW" | cut -d- -f1 | tr -d :); end=$(echo "$WINDOW" | cut -d- -f2 | tr -d :)
case "$start-$end" in [0-9][0-9][0-9][0-9]-[0-9][0-9][0-9][0-9]) ;;
  *) echo "window must be HH:MM-HH:MM (UTC), not $WINDOW" >&2; exit 2 ;; esac
if [ "$start" -le "$end" ]; then
  [ "$now" -ge "$start" ] && [ "$now" -le "$end" ]; inside=$?
else  # the window spans midnight
  [ "$now" -ge "$start" ] || [ "$now" -le "$end" ]; inside=$?
fi
if [ $inside -ne 0 ]; then echo "outside the maintenance window $WINDOW (UTC now $now)"; exit 1; fi
echo "inside the maintenance window $WINDOW (UTC now $now)"
"""

_TLS = r"""[ -r "$CERT" ] || { echo "cannot read $CERT"; exit 2; }
end=$(openssl x509 -enddate -noout -in "$CERT" | cut -d= -f2)
if openssl x509 -checkend $((DAYS * 86400)) -noout -in "$CERT" >/dev/null; then
  echo "$CERT is valid for more than $DAYS days (until $end)"
else
  echo "$CERT expires within $DAYS days (on $end)"; exit 1
fi
"""

BUILTIN_PLAYBOOKS = [
    {"name": "Baseline check",
     "description": "Check that packages are installed and services are running",
     "parameters": [{"name": "packages", "type": "string", "required": True},
                    {"name": "services", "type": "string", "default": ""}],
     "steps": [{"id": "packages", "script": _PACKAGES, "inputs": {"PACKAGES": "{{ params.packages }}"}},
               {"id": "services", "script": _SERVICES, "condition": "params.services != ''",
                "inputs": {"SERVICES": "{{ params.services }}"}}]},
    {"name": "Patch run",
     "description": "Inside a maintenance window and after approval, run the patch command",
     "parameters": [{"name": "patch_command", "type": "string", "required": True},
                    {"name": "window", "type": "string", "default": "00:00-23:59"}],
     "steps": [{"id": "window", "script": _WINDOW, "inputs": {"WINDOW": "{{ params.window }}"}},
               {"id": "approval", "type": "approval", "approval_timeout_seconds": 86400},
               {"id": "patch", "script": 'eval "$PATCH_COMMAND"',
                "inputs": {"PATCH_COMMAND": "{{ params.patch_command }}"}}]},
    {"name": "TLS certificate expiry",
     "description": "Fail the hosts whose certificate expires within the given days",
     "parameters": [{"name": "certificate", "type": "string", "required": True},
                    {"name": "days", "type": "number", "default": 30}],
     "steps": [{"id": "expiry", "script": _TLS,
                "inputs": {"CERT": "{{ params.certificate }}", "DAYS": "{{ params.days | int }}"}}]},
]


async def seed_playbooks(session: AsyncSession) -> None:
    """Create the built-in playbooks that are missing (idempotent)."""
    names = set((await session.scalars(select(Playbook.name))).all())
    for spec in BUILTIN_PLAYBOOKS:
        if spec["name"] not in names:
            playbook = await create_playbook(session, spec)
            playbook.builtin = True
    await session.flush()
