"""Everything the bot says goes through the outbox: persisted, deduplicated, paced, and counted
as sent only once a transport said it was sent.

The policy lives here; every statement is in storage/outbox.py.
- Pacing: per group at most one message per `group_min_interval` and `group_max_per_hour` an
  hour; per bot account `account_burst` at once, then one per `account_min_interval`, each
  slot longer by up to `send_jitter` at random, so a post to fifty groups of one account is
  spread over minutes, never a burst. The budgets are rows in the database: processes that
  serve one account share them.
- Merging: group messages held by the pacing go out together in the next slot, oldest first —
  never into the copyable 开团 template (members copy that post: it goes alone) and never with
  an image.
- Claims: `take_due` claims the rows it returns, so no two processes send one message. The
  transport reports each send (`App.report`): SENT marks the rows sent; RETRY puts them back
  after a backoff; FAILED, or a message still failing after `send_give_up_after`, is given up
  and the platform admins are told once (the evening summary counts them too).
- A claim never reported (the process died mid-send) expires after `send_claim_timeout` and
  the message is tried again: delivery is at-least-once, never at-most-once.
A `dedupe_key` makes a broadcast or a reminder exactly-once across restarts and processes.
"""

from __future__ import annotations

import logging
import os
import random
import secrets
import socket
import threading
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from bot import texts
from bot.context import AppContext
from bot.events import Capabilities, OutgoingText, SendResult, SendStatus
from storage import outbox as store
from storage.db import commit_without_waiting, lock_for_writing
from storage.lookup import admins
from storage.models import OutboxKind

log = logging.getLogger(__name__)
MAX_MERGED_CHARS = 3000  # WeChat cuts longer messages; the rest waits for the next slot
BACKOFF_FIRST = timedelta(seconds=5)
BACKOFF_MAX = timedelta(minutes=2)
TAKE_AT_MOST = 1000  # rows looked at per flush; the rest wait for the next one
ALONE_KINDS = frozenset({OutboxKind.POST_OPEN})  # posts members copy: never merged with anything
REPLY_KINDS = frozenset({OutboxKind.REPLY, OutboxKind.COMMAND})


class Served:
    def __repr__(self) -> str:
        return "SERVED"


SERVED = Served()  # "the accounts this outbox serves" (see Outbox.accounts)
_rng = random.Random()


@dataclass(frozen=True)
class Pace:
    """A send budget: up to `burst` sends at once from idle; once that is spent, each next
    send at least `interval` after the previous one, plus up to `jitter` of it at random; and
    no more than `per_hour` in any hour. A generic cell rate algorithm: one time (tat) and,
    where an hourly cap applies, the last hour's send times."""

    interval: timedelta
    burst: int = 1
    per_hour: int | None = None
    jitter: float = 0.0

    @property
    def tolerance(self) -> timedelta:
        return self.interval * (max(self.burst, 1) - 1)

    def allows(self, budget: store.Budget, now: datetime) -> bool:
        return self.next_slot(budget, now) <= now

    def next_slot(self, budget: store.Budget, now: datetime) -> datetime:
        """The earliest time from `now` on when this budget lets a send through."""
        slot = now if budget.tat is None else max(now, budget.tat - self.tolerance)
        if self.per_hour is not None:
            recent = sorted(self._last_hour(budget, now))
            if len(recent) >= self.per_hour:  # when the oldest that counts leaves the hour
                slot = max(slot, datetime.fromtimestamp(recent[len(recent) - self.per_hour] + 3600, UTC))
        return slot

    def spend(self, budget: store.Budget, now: datetime) -> None:
        base = max(budget.tat or now, now)
        tat = base + self.interval
        if tat - now > self.tolerance:  # the burst is spent: the next send waits a (jittered) slot
            tat = max(base, now + self.tolerance) + self.interval * (1 + _rng.random() * self.jitter)
        budget.tat = tat
        budget.recent = [*self._last_hour(budget, now), now.timestamp()] if self.per_hour is not None else []

    @staticmethod
    def _last_hour(budget: store.Budget, now: datetime) -> list[float]:
        since = now.timestamp() - 3600
        return [t for t in budget.recent if t > since]


def backoff(attempts: int) -> timedelta:
    """How long a message that failed `attempts` times waits before the next try."""
    return min(BACKOFF_FIRST * 2 ** max(attempts - 1, 0), BACKOFF_MAX)


class Outbox:
    # Whether this process may have something queued. Lets the hot path (a reply check after
    # every message) skip a query; the transport's periodic flush always looks.
    _maybe_pending = True
    _wake_at: datetime | None = None  # when the earliest row this process put off is due again
    _known_used: set[tuple[str, str]] = set()  # (database, key) pairs known to be used

    def __init__(self, ctx: AppContext, *, accounts: Collection[str] | None = None,
                 capabilities: Capabilities | None = None):
        self.ctx = ctx
        # The bot accounts whose messages this process sends (None: every account — a
        # single-account set-up). Messages for no particular account go with any of them.
        self.accounts = frozenset(accounts) if accounts is not None else None
        self.capabilities = capabilities or Capabilities()  # of the transport in front
        self.owner = f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"  # of its claims
        self._taking = threading.Lock()  # its threads claim one at a time (they would queue in the database)

    # --- queueing ---------------------------------------------------------------------------

    def enqueue(self, session: Session, msg: OutgoingText, *, kind: str = OutboxKind.REPLY,
                dedupe_key: str | None = None) -> bool:
        """Queue a message. False (and nothing queued) if `dedupe_key` was used before."""
        if dedupe_key is not None and self.used(session, dedupe_key):
            return False
        account = msg.account
        if account is None and not msg.is_group and kind not in REPLY_KINDS:
            # Not an answer (those go from the account that heard the question, or from the one
            # account there is): from the account this person last wrote to. A group's account
            # is found when its message is sent (it may be learned in the meantime).
            account = store.private_account(session, msg.to)
        queued = store.enqueue(session, to=msg.to, is_group=msg.is_group, text=msg.text, mentions=msg.mentions,
                               kind=kind, created_at=self.ctx.now(), dedupe_key=dedupe_key, account=account,
                               image=msg.image)
        if not queued:
            Outbox._known_used.add((str(session.get_bind().url), dedupe_key))
            return False
        Outbox._maybe_pending = True
        return True

    def used(self, session: Session, dedupe_key: str) -> bool:
        """Was this dedupe key queued before? (Cheap check before building a costly text.)
        A key once used stays used, so positive answers are remembered in the process."""
        memo = (str(session.get_bind().url), dedupe_key)
        if memo in Outbox._known_used:
            return True
        used = store.dedupe_key_used(session, dedupe_key)
        if used:
            if len(Outbox._known_used) > 50_000:
                Outbox._known_used.clear()
            Outbox._known_used.add(memo)
        return used

    def may_have_due(self, now: datetime | None = None) -> bool:
        """False when this process has certainly nothing due (no need to look)."""
        if Outbox._maybe_pending:
            return True
        wake = Outbox._wake_at
        return wake is not None and (now or self.ctx.now()) >= wake

    @staticmethod
    def _wake(now: datetime, times: Iterable[datetime]) -> None:
        """Remember when rows put off now are due (earlier wake-ups still ahead are kept)."""
        ahead = [t for t in (Outbox._wake_at, *times) if t is not None and t > now]
        Outbox._wake_at = min(ahead) if ahead else None

    def pending_count(self, session: Session) -> int:
        return store.pending_count(session)

    # --- taking -------------------------------------------------------------------------------

    def take_due(self, session: Session, now: datetime | None = None, *, force: bool = False,
                 accounts: Collection[str] | None | Served = SERVED) -> list[OutgoingText]:
        """What may be sent now, claimed for this process: each must be reported (App.report).
        Held group messages are merged. `accounts`: whose messages (default: this outbox's)."""
        now = now or self.ctx.now()
        if not (force or self.may_have_due(now)):
            return []
        served = self.accounts if accounts is SERVED else accounts
        caps = self.capabilities
        with self._taking:
            lock_for_writing(session)
            rows = store.due_rows(session, now, accounts=served, groups=caps.group_posts,
                                  private=caps.private_chat, limit=TAKE_AT_MOST)
            if rows:
                # Losing a claim in a server crash only means a resend (at-least-once): its
                # commit need not wait for the disk (a few ms a message on PostgreSQL).
                commit_without_waiting(session)
            rows = self._give_up_overdue(session, rows, now)
            chosen, held = self._paced(session, rows, now)
            store.defer(session, held)
            claimed = store.claim(session, [row.id for batch in chosen for row in batch], self.owner, now,
                                  now + self.ctx.settings.send_claim_timeout)
        # Rows neither taken nor put off: their budget was being spent by another process.
        Outbox._maybe_pending = sum(map(len, chosen)) + len(held) < len(rows) or len(rows) >= TAKE_AT_MOST
        self._wake(now, held.values())
        out = [self._outgoing(batch, claimed) for batch in chosen]
        return [message for message in out if message is not None]

    def _give_up_overdue(self, session: Session, rows: list[store.DueRow], now: datetime) -> list[store.DueRow]:
        """Rows whose claim expired without a report, failing for longer than the limit."""
        limit = self.ctx.settings.send_give_up_after
        overdue = {row.id for row in rows if row.claimed_until is not None and row.first_failed_at is not None
                   and now - row.first_failed_at >= limit}
        if overdue:
            self._given_up(session, store.mark_failed(session, overdue, now, store.UNREPORTED), now)
        return [row for row in rows if row.id not in overdue]

    def _paced(self, session: Session, rows: list[store.DueRow],
               now: datetime) -> tuple[list[list[store.DueRow]], dict[int, datetime]]:
        """The batches the group and account budgets allow now, oldest first (budgets spent),
        and, for each row that must wait, its budgets' next slot: it is not looked at before."""
        queues = _queues(rows)
        scopes = {scope for queue in queues for scope, _pace in self._scopes(queue[0])}
        budgets = store.budgets(session, scopes)
        chosen, held, spent = [], {}, {}
        for queue in queues:
            wanted = [(budgets.get(scope), pace) for scope, pace in self._scopes(queue[0])]
            if any(budget is None for budget, _pace in wanted):
                continue  # another process is spending this budget right now: look again soon
            waiting = queue
            if all(pace.allows(budget, now) for budget, pace in wanted):
                batch = _next_message(queue)
                for budget, pace in wanted:
                    pace.spend(budget, now)
                    spent[budget.scope] = budget
                chosen.append(batch)
                waiting = queue[len(batch):]
            if waiting:
                until = max(pace.next_slot(budget, now) for budget, pace in wanted)
                held.update((row.id, until) for row in waiting)
        store.save_budgets(session, spent.values())
        return sorted(chosen, key=lambda batch: (batch[0].created_at, batch[0].id)), held

    def _scopes(self, row: store.DueRow) -> list[tuple[str, Pace]]:
        settings = self.ctx.settings
        account = (f"account:{row.account or ''}",
                   Pace(settings.account_min_interval, settings.account_burst, jitter=settings.send_jitter))
        if not row.is_group:
            return [account]
        return [(f"group:{row.to}", Pace(settings.group_min_interval, 1, settings.group_max_per_hour)), account]

    def _outgoing(self, batch: list[store.DueRow], claimed: dict[int, bytes | None]) -> OutgoingText | None:
        rows = [row for row in batch if row.id in claimed]  # a row another process took is not ours
        if not rows:
            return None
        caps = self.capabilities
        mentions: list[str] = []
        for row in rows:
            mentions.extend(m for m in row.mentions if m not in mentions)
        first = rows[0]
        image = claimed[first.id] if caps.images and len(rows) == 1 else None
        return OutgoingText(first.to, "\n\n".join(row.text for row in rows),
                            tuple(mentions) if caps.mentions else (), is_group=first.is_group,
                            account=first.account, image=image, outbox_ids=tuple(row.id for row in rows))

    # --- reports ------------------------------------------------------------------------------

    def report(self, session: Session, out: OutgoingText, result: SendResult, now: datetime) -> None:
        """How a send went: SENT marks it sent; RETRY tries again after a backoff, until the
        limit; FAILED gives it up. Giving up tells the platform admins."""
        if not out.outbox_ids:
            return
        if result.status is SendStatus.SENT:
            commit_without_waiting(session)  # a sent mark lost in a server crash: sent again
            store.mark_sent(session, out.outbox_ids, now)
            return
        detail = result.detail or result.status.value
        failures = store.record_failure(session, out.outbox_ids, self.owner, now, detail)
        limit = self.ctx.settings.send_give_up_after
        give_up = {f.id for f in failures if result.status is SendStatus.FAILED or now - f.failing_since >= limit}
        retry = {f.id: now + backoff(f.attempts) for f in failures if f.id not in give_up}
        store.defer(session, retry)
        if retry:
            self._wake(now, retry.values())
            log.warning("send to %s failed, will retry: %s", out.to, detail)
        if give_up:
            self._given_up(session, store.mark_failed(session, give_up, now), now)

    def _given_up(self, session: Session, failed: Iterable[store.FailedSend], now: datetime) -> None:
        """Tell each platform admin in one short private message, once a day per bot account
        (an account banned from fifty groups is one alert, not fifty) or, for messages of no
        known account, per recipient. The evening summary counts every one."""
        day = now.astimezone(self.ctx.tz).date().isoformat()
        people = None
        for row in failed:
            log.error("gave up sending %s to %s after %d tries: %s", row.kind, row.to, row.attempts, row.last_error)
            if row.kind == OutboxKind.ALERT:
                continue  # an alert that cannot be delivered is logged, not alerted about
            if people is None:
                people = [admin.user_id for admin in admins(session)]
            name = store.recipient_name(session, row.to, row.is_group)
            where = (texts.SEND_FAILED_GROUP if row.is_group else texts.SEND_FAILED_PRIVATE).format(name=name)
            text = texts.SEND_FAILED_ALERT.format(where=where, what=texts.OUTBOX_KIND_NAMES.get(row.kind, "消息"),
                                                  reason=_short(row.last_error or ""))
            for admin in people:
                about = f"account:{row.account}" if row.account else row.to
                self.enqueue(session, OutgoingText(admin, text, is_group=False), kind=OutboxKind.ALERT,
                             dedupe_key=f"alert:send-failed:{day}:{about}:{admin}")


def _queues(rows: list[store.DueRow]) -> list[list[store.DueRow]]:
    """What waits for each recipient, oldest first: a group's rows (of one account) together,
    each private message on its own. Oldest queue first."""
    queues: dict[tuple, list[store.DueRow]] = {}
    for row in rows:
        key = ("group", row.to, row.account) if row.is_group else ("private", row.id)
        queues.setdefault(key, []).append(row)
    return list(queues.values())  # rows come oldest first, so do the queues


def _next_message(queue: list[store.DueRow]) -> list[store.DueRow]:
    """What a recipient's next message holds: the oldest row alone when it must go alone, else
    the oldest rows that merge, up to MAX_MERGED_CHARS."""
    batch: list[store.DueRow] = []
    size = 0
    for row in queue:
        if batch and (_alone(row) or size + len(row.text) > MAX_MERGED_CHARS):
            break
        batch.append(row)
        size += len(row.text) + 2
        if _alone(row):
            break
    return batch


def _alone(row: store.DueRow) -> bool:
    return row.kind in ALONE_KINDS or row.has_image


def _short(detail: str, limit: int = 60) -> str:
    detail = " ".join(detail.split())
    return detail if len(detail) <= limit else detail[: limit - 1] + "…"
