"""Notifications through Prefect's own notification blocks.

``notifications.webhook_url`` in the site config gives a ``CustomWebhookNotificationBlock``
(saved as ``custom-webhook/imncohort-audit`` so it shows in the Prefect UI);
``notifications.block`` names any saved Prefect notification block instead (Slack,
Teams, e-mail ...). Messages carry counts and pseudonymous keys only.
"""

from __future__ import annotations

import logging
from typing import Any

from imncohort.config import Config

logger = logging.getLogger("imncohort")

BLOCK_NAME = "imncohort-audit"


def notification_block(config: Config) -> Any:
    """Return the configured notification block, or None when none is configured."""
    settings = config.notifications
    if settings.block:
        from prefect.blocks.core import Block

        return Block.load(settings.block)
    if settings.webhook_url:
        from prefect.blocks.notifications import CustomWebhookNotificationBlock

        block = CustomWebhookNotificationBlock(
            name="imncohort",
            url=settings.webhook_url,
            json_data={"title": "{{subject}}", "text": "{{body}}"},
            allow_private_urls=True,  # hospital intranet receivers
            headers=None,
            cookies=None,
        )
        try:
            block.save(BLOCK_NAME, overwrite=True)
        except Exception as exc:  # the message matters more than the saved copy
            logger.warning("could not save the notification block: %s", exc)
        return block
    return None


def send(config: Config, subject: str, body: str) -> bool:
    """Send one notification; return True when a block took it (errors are logged)."""
    try:
        block = notification_block(config)
        if block is None:
            return False
        block.notify(body=body, subject=subject)
    except Exception as exc:
        logger.warning("notification not sent: %s", type(exc).__name__)
        return False
    logger.info("notification sent: %s", subject)
    return True


def on_audit_failure(flow: Any, flow_run: Any, state: Any) -> None:
    """Prefect ``on_failure`` hook of the audit flow: tell the configured receiver."""
    from .runtime import AuditParameters, StageSettings

    raw = flow_run.parameters.get("parameters") or {}
    try:
        parameters = raw if isinstance(raw, AuditParameters) else AuditParameters(**raw)
        settings: StageSettings = parameters.settings()
        config = settings.config()
    except Exception as exc:
        logger.warning("failure notification skipped: %s", type(exc).__name__)
        return
    if not config.notifications.on_failure:
        return
    from imncohort.privacy import PathScrubber

    # An exception text may quote a raw path: known identifiers become their keys.
    message = PathScrubber.from_out(settings.out)(str(state.message or "failed"))
    send(
        config,
        "imncohort audit failed",
        f"Audit flow run {flow_run.name} failed: {message}\nOutput directory: {settings.out}",
    )
