"""What happened: the overview with its charts, the email log and each email's timeline,
and the letters with their tracking."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlencode

from chalice.app import Response

from chalicelib.api.dashboard.frame import Visit, page
from chalicelib.api.dashboard.portal import cursor_of, principal
from chalicelib.dashboard.charts import RateCheck, bar_chart, percent, series
from chalicelib.errors import ValidationFailed
from chalicelib.vocabulary import EMAIL_STATUS_RANK

METRICS = ("sent", "delivered", "bounced", "complained", "opened", "clicked")
WINDOWS = (7, 30, 90)
FILTERS = ("status", "recipient", "tag", "from", "to")


@page("/dashboard", nav="Overview")
def overview(visit: Visit) -> Response:
    container = visit.services.container
    account = container.accounts.describe(visit.user.account_id)
    raw = visit.query("days") or "30"
    window = int(raw) if raw.isdigit() else 0
    if window not in WINDOWS:
        raise ValidationFailed("days must be 7, 30 or 90", details=[{"field": "days"}])
    today = visit.now.date()
    first = today - timedelta(days=window - 1)
    month_start = today.replace(day=1)
    earliest = min(first, month_start, today - timedelta(days=6))
    days = container.logs.daily_counts(visit.user.account_id, earliest, today)
    counts = {d.date: d.counts for d in days}
    charts = [(metric, series(metric, counts, first, today)) for metric in METRICS]
    week = _totals(counts, today - timedelta(days=6), today)
    settings = container.settings
    checks = [RateCheck("Bounce rate", _rate(week, "bounced"), settings.protection_bounce_rate),
              RateCheck("Complaint rate", _rate(week, "complained"),
                        settings.protection_complaint_rate)]
    from chalicelib.costs import estimate, per_email_cost
    month_sent = _totals(counts, month_start, today).get("sent", 0)
    return visit.render(
        "overview.html", account=account, window=window, windows=WINDOWS, checks=checks,
        charts=[(metric, data, bar_chart(data, f"chart-{metric}")) for metric, data in charts],
        week=week, min_volume=settings.protection_min_volume, percent=percent,
        cost=estimate(month_sent), month_sent=month_sent, per_email=per_email_cost(),
        month=month_start.strftime("%B %Y"))


def _totals(counts: dict[str, dict[str, int]], first: date, last: date) -> dict[str, int]:
    totals: dict[str, int] = {}
    for day, values in counts.items():
        if first.isoformat() <= day <= last.isoformat():
            for name, count in values.items():
                totals[name] = totals.get(name, 0) + count
    return totals


def _rate(totals: dict[str, int], name: str) -> float | None:
    return totals.get(name, 0) / totals["sent"] if totals.get("sent") else None


def _moment(day: str, field: str, end: bool) -> str | None:
    if not day:
        return None
    try:
        date.fromisoformat(day)
    except ValueError as err:
        raise ValidationFailed(f"{field}: a date (YYYY-MM-DD)", details=[{"field": field}]) from err
    return f"{day}T23:59:59.999Z" if end else f"{day}T00:00:00Z"


@page("/dashboard/emails", nav="Emails")
def emails(visit: Visit) -> Response:
    chosen = {name: visit.query(name).strip() for name in FILTERS}
    if chosen["status"] and chosen["status"] not in EMAIL_STATUS_RANK:
        raise ValidationFailed("status: not a known status", details=[{"field": "status"}])
    query: dict[str, str | None] = {
        "status": chosen["status"] or None, "recipient": chosen["recipient"] or None,
        "tag": chosen["tag"] or None, "from": _moment(chosen["from"], "from", end=False),
        "to": _moment(chosen["to"], "to", end=True)}
    found = visit.services.container.logs.emails(principal(visit), 20, cursor_of(visit), query)
    keep = urlencode({name: value for name, value in chosen.items() if value})
    return visit.render("emails.html", page=found, chosen=chosen, keep=keep,
                        statuses=sorted(EMAIL_STATUS_RANK, key=EMAIL_STATUS_RANK.__getitem__),
                        cursor=cursor_of(visit))


@page("/dashboard/emails/{email_id}")
def email_detail(visit: Visit, email_id: str) -> Response:
    emails, cursor = visit.services.container.emails, cursor_of(visit)
    email = emails.get_email(principal(visit), email_id)
    # The first events come with the email; a long timeline continues a page at a time.
    events = (emails.email_events(principal(visit), email_id, 100, cursor) if cursor else
              {"data": email.events, "has_more": email.events_has_more,
               "next_cursor": email.events_next_cursor})
    return visit.render("email.html", email=email, events=events, cursor=cursor)


@page("/dashboard/letters", nav="Letters")
def letters(visit: Visit) -> Response:
    found = visit.services.container.letters.list(principal(visit), 20, cursor_of(visit))
    return visit.render("letters.html", page=found, cursor=cursor_of(visit))


@page("/dashboard/letters/{letter_id}")
def letter_detail(visit: Visit, letter_id: str) -> Response:
    letter = visit.services.container.letters.get(principal(visit), letter_id)
    return visit.render("letter.html", letter=letter)
