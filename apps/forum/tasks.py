"""Celery entry points of the forum. Names are a wire contract.

- ``forum.send_notification_emails`` (default queue): emails the given notifications;
  idempotent (each notification is claimed before sending), retried on SMTP/network
  errors. ``base_url`` (optional) is the site's URL as the triggering request saw it.
- ``forum.sweep_notification_emails`` (default queue, periodic): sends what the
  after-commit task missed (broker down when the post was made).
"""

from __future__ import annotations

import smtplib

from celery import shared_task

from portal.celery import DEFAULT_QUEUE


@shared_task(
    name="forum.send_notification_emails",
    queue=DEFAULT_QUEUE,
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=5,
)
def send_notification_emails(notification_ids: list[str], base_url: str | None = None) -> int:
    from .services.notifications import notification_emails_send

    return notification_emails_send(notification_ids=notification_ids, base_url=base_url)


@shared_task(name="forum.sweep_notification_emails", queue=DEFAULT_QUEUE)
def sweep_notification_emails() -> int:
    from .services.notifications import notification_emails_sweep

    return notification_emails_sweep()
