"""The database schema. The message log is the source of truth; orders are its projection.

Idempotency lives in unique constraints: (platform, message_id) on the log, (chain, entry_key)
on entries, dedupe_key on the outbox.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (which keeps no zone) as on
    PostgreSQL. A naive datetime is refused: every time in jielong carries its zone."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class EntryStatus(StrEnum):
    """Where an entry (one member's line) stands."""

    OK = "ok"  # counted
    LATE = "late"  # written after the deadline or the group's 截单: kept for the leader, not counted
    REVIEW = "review"  # someone changed another member's line: kept for the leader, not applied
    CANCELLED = "cancelled"


class ItemStatus(StrEnum):
    """Where one ordered item stands. Only OK is counted in totals, lists and money."""

    OK = "ok"
    LATE = "late"
    REVIEW = "review"
    CANCELLED = "cancelled"
    WAITLIST = "waitlist"  # over the product's stock: promoted when stock frees up
    UNMATCHED = "unmatched"  # no product of the campaign fits: the member is asked


ACTIVE_ENTRY = (EntryStatus.OK, EntryStatus.LATE)  # lines a leader can still act on by number


class EventKind(StrEnum):
    """What happened to an entry (entry_events.kind)."""

    CREATED = "created"
    LATE = "late"  # created after the deadline
    REVIEW = "review"  # another member's change, not applied
    CANCELLED = "cancelled"
    EDITED = "edited"  # its author (or the leader) rewrote it in the chain
    LATE_EDIT = "late_edit"  # rewritten after the deadline: kept as a late line
    MISSING = "missing"  # absent from a later copy
    REAPPEARED = "reappeared"
    LEADER_EDIT = "leader_edit"  # 改单
    LEADER_DELETE = "leader_delete"  # 删单
    SHORTAGE = "shortage"  # 缺货 cut
    PROMOTED = "promoted"  # from the waitlist into freed stock


class MessageState(StrEnum):
    """Where a logged message stands in the pipeline (messages.state)."""

    APPLIED = "applied"  # its effect is in the orders (or it had none to apply)
    PENDING = "pending"  # recorded, not applied yet: the next pass over its conversation applies it
    FAILED = "failed"  # could not be applied (a bug, a value the database refuses): skipped until `jielong retry`


class ChainKind(StrEnum):
    CHAIN = "chain"  # a 接龙 the members copy
    FREE = "free"  # free-text orders of a campaign in a group ("+1 西瓜"), kept for the leader
    HELD = "held"  # a 接龙 that fits two open campaigns equally: its copies wait for the leader (归团)


Money = Numeric(14, 2)
Quantity = Numeric(14, 3)


class Base(DeclarativeBase):
    pass


class Platform(Base):
    __tablename__ = "platform"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    commission_rate: Mapped[Decimal] = mapped_column(Numeric(6, 4), default=Decimal("0.10"))
    # the set-up's [settings] (storage.settings): pacing, digests, summary time, reminders
    settings: Mapped[dict | None] = mapped_column(JSON, nullable=True)


class Admin(Base):
    __tablename__ = "admins"
    user_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")


class Leader(Base):
    __tablename__ = "leaders"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)  # platform user id
    name: Mapped[str] = mapped_column(String(200))
    commission_rate: Mapped[Decimal | None] = mapped_column(Numeric(6, 4), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Group(Base):
    """A group is its room id; its topic is only a display name (D4/P2). A group the set-up
    names by topic holds that name in chat_id until its room first speaks (room_known)."""

    __tablename__ = "groups"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(200), unique=True)  # the room id once room_known
    name: Mapped[str] = mapped_column(String(200), default="")  # the topic, last seen
    # chat_id is the room id (learned from the room's first message, or bound by 绑定), not a name
    room_known: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    setup_name: Mapped[str | None] = mapped_column(String(200), nullable=True)  # what the set-up file calls it
    leader_id: Mapped[str | None] = mapped_column(ForeignKey("leaders.id"), nullable=True)
    bound_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    greeted: Mapped[bool] = mapped_column(Boolean, default=False)
    # The bot account that sits in the group, learned from its messages (not part of the set-up:
    # written without the ORM, so learning it does not bump the set-up revision).
    account: Mapped[str | None] = mapped_column(String(128), nullable=True)
    leader: Mapped[Leader | None] = relationship()


class Member(Base):
    __tablename__ = "members"
    user_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")


class Campaign(Base):
    __tablename__ = "campaigns"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    opens: Mapped[datetime] = mapped_column(UTCDateTime)
    deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    pickup: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    pickup_place: Mapped[str] = mapped_column(String(200), default="")
    link: Mapped[str] = mapped_column(String(500), default="")
    all_groups: Mapped[bool] = mapped_column(Boolean, default=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    products: Mapped[list[ProductRow]] = relationship(
        back_populates="campaign", order_by="ProductRow.position"
    )


class CampaignGroup(Base):
    """Which groups a campaign runs in (all, when campaign.all_groups), and a leader's 截单."""

    __tablename__ = "campaign_groups"
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), primary_key=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ProductRow(Base):
    __tablename__ = "products"
    __table_args__ = (UniqueConstraint("campaign_id", "sku"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"))
    sku: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    price: Mapped[Decimal] = mapped_column(Money)
    unit: Mapped[str] = mapped_column(String(20), default="")
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    stock: Mapped[Decimal | None] = mapped_column(Quantity, nullable=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    campaign: Mapped[Campaign] = relationship(back_populates="products")


class CommissionRate(Base):
    """A commission rate from a time on (valid_from None: from the start): a leader's own
    (rate None: the platform's applies), or the platform's (leader_id None). Items keep the
    rate in force when first ordered, and a rebuild finds the same rate again after a set-up
    reload changed it."""

    __tablename__ = "commission_rates"
    __table_args__ = (Index("ix_commission_rates_leader", "leader_id", "valid_from"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    leader_id: Mapped[str | None] = mapped_column(ForeignKey("leaders.id"), nullable=True)
    rate: Mapped[Decimal | None] = mapped_column(Numeric(6, 4), nullable=True)
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ProductPrice(Base):
    """A product's price from a time on (valid_from None: from the start). Items keep the
    price of the time they were first ordered, and a rebuild finds the same price again
    after the set-up changed it."""

    __tablename__ = "product_prices"
    __table_args__ = (Index("ix_product_prices_product", "product_id", "valid_from"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    price: Mapped[Decimal] = mapped_column(Money)
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class MessageLog(Base):
    """Every inbound message, exactly as received. The source of truth, and the inbox: a
    message is recorded first (the durable point) and applied in its conversation's order."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("platform", "message_id"),
        Index("ix_messages_chat_time", "chat_id", "sent_at"),
        Index("ix_messages_chat_name", "chat_name", "chat_id"),  # which rooms carry a topic
        # Only the few messages waiting to be applied: what a pass over a conversation looks for.
        Index("ix_messages_pending", "chat_id", "sent_at", "id",
              sqlite_where=sql_text("state = 'pending'"),
              postgresql_where=sql_text("state = 'pending'")),
        # Which bot account a person last wrote to privately: their private messages go from it.
        Index("ix_messages_private_sender", "sender_id", "id",
              postgresql_where=sql_text("chat_id IS NULL"), sqlite_where=sql_text("chat_id IS NULL")),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    message_id: Mapped[str] = mapped_column(String(200))
    chat_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    chat_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    sender_id: Mapped[str] = mapped_column(String(128))
    sender_name: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    account: Mapped[str | None] = mapped_column(String(128), nullable=True)  # the bot account it reached
    raw: Mapped[str | None] = mapped_column(Text, nullable=True)  # the platform's payload, when it had one
    # a native 接龙 the transport vouched for (a server default: the hot insert may leave it out)
    native_chain: Mapped[bool] = mapped_column(Boolean, server_default=false())
    # MessageState. A server default: writers that apply a message in the transaction that logs
    # it (tests, tools) need not name it.
    state: Mapped[str] = mapped_column(String(16), server_default=MessageState.APPLIED.value)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")  # tries that failed
    failed_reason: Mapped[str | None] = mapped_column(Text, nullable=True)  # the last failure, one line


class Chain(Base):
    __tablename__ = "chains"
    __table_args__ = (UniqueConstraint("group_id", "chain_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"))
    campaign_id: Mapped[str | None] = mapped_column(ForeignKey("campaigns.id"), nullable=True)
    chain_key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default=ChainKind.CHAIN)  # ChainKind
    title: Mapped[str] = mapped_column(String(500), default="")
    first_message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), nullable=True)
    last_message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=0)  # bumped on every change


class EntryRow(Base):
    """One member's order line in a chain, keyed by author and content, not by number."""

    __tablename__ = "entries"
    __table_args__ = (UniqueConstraint("chain_id", "entry_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chain_id: Mapped[int] = mapped_column(ForeignKey("chains.id"), index=True)
    entry_key: Mapped[str] = mapped_column(String(64))  # stable from first sight
    line_hash: Mapped[str] = mapped_column(String(64))  # of the current content
    author_id: Mapped[str] = mapped_column(String(128), index=True)
    author_name: Mapped[str] = mapped_column(String(200), default="")
    seq: Mapped[int] = mapped_column(Integer)  # the number it last carried
    raw: Mapped[str] = mapped_column(Text)
    # TEXT: the parser takes a line's first words for them, however long (D1)
    member: Mapped[str | None] = mapped_column(Text, nullable=True)
    address: Mapped[str | None] = mapped_column(Text, nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default=EntryStatus.OK)  # EntryStatus
    missing: Mapped[bool] = mapped_column(Boolean, default=False)  # absent from latest copy
    paid: Mapped[bool] = mapped_column(Boolean, default=False)
    picked_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    last_changed: Mapped[datetime] = mapped_column(UTCDateTime)
    first_message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), nullable=True)
    # The order's number in its campaign and group: given when first seen, never reused or
    # changed (chain numbers shift as copies merge). None: not an order (review, cancel line).
    order_no: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # What the parser could not account for on the line: [{"kind", "text", "detail"}] (FlagKind)
    flags: Mapped[list | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # the leader's 已付


class OrderCounter(Base):
    """The last order number given in a campaign's group (numbers are never reused)."""

    __tablename__ = "order_counters"
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), primary_key=True)
    last_no: Mapped[int] = mapped_column(Integer, default=0)


class HeldMessage(Base):
    """A copy of a held chain (ChainKind.HELD), applied once its campaign is known."""

    __tablename__ = "held_messages"
    chain_id: Mapped[int] = mapped_column(ForeignKey("chains.id"), primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), primary_key=True)


class OrderItem(Base):
    """One product line of an entry. Denormalised keys feed covering indexes for reports."""

    __tablename__ = "order_items"
    __table_args__ = (
        Index("ix_items_campaign_product", "campaign_id", "status", "sku", "qty", "amount"),
        Index("ix_items_leader_time", "leader_id", "first_seen", "status", "amount"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id"), index=True)
    campaign_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    group_id: Mapped[int] = mapped_column(Integer)
    leader_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    member_id: Mapped[str] = mapped_column(String(128))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"), nullable=True)
    sku: Mapped[str | None] = mapped_column(String(100), nullable=True)
    product_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    text: Mapped[str] = mapped_column(Text, default="")
    qty: Mapped[Decimal] = mapped_column(Quantity)
    unit: Mapped[str] = mapped_column(String(20), default="")
    unit_price: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    # the leader's commission rate in force when first ordered (as unit_price keeps the price)
    commission_rate: Mapped[Decimal | None] = mapped_column(Numeric(6, 4), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default=ItemStatus.OK)  # ItemStatus
    score: Mapped[float] = mapped_column(default=0.0)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    last_changed: Mapped[datetime] = mapped_column(UTCDateTime)


class EntryEvent(Base):
    """History: every change to an entry, and the changes that were not applied."""

    __tablename__ = "entry_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), nullable=True)
    kind: Mapped[str] = mapped_column(String(24))  # EventKind
    actor_id: Mapped[str] = mapped_column(String(128), default="")
    before: Mapped[str | None] = mapped_column(Text, nullable=True)
    after: Mapped[str | None] = mapped_column(Text, nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Adjustment(Base):
    """Money corrections that show in statements (shortages, refunds)."""

    __tablename__ = "adjustments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    leader_id: Mapped[str] = mapped_column(ForeignKey("leaders.id"), index=True)
    campaign_id: Mapped[str | None] = mapped_column(ForeignKey("campaigns.id"), nullable=True)
    order_item_id: Mapped[int | None] = mapped_column(ForeignKey("order_items.id"), nullable=True)
    amount: Mapped[Decimal] = mapped_column(Money)  # negative: owed back to members
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class OutboxKind(StrEnum):
    """What an outbox message is (outbox.kind): decides how it may be merged and alerted."""

    REPLY = "reply"
    COMMAND = "command"  # a reply to a private command
    PROBLEM = "problem"  # a member asked about a line
    DIGEST = "digest"
    GREETING = "greeting"
    SUMMARY = "summary"
    ALERT = "alert"  # to the platform admins: a message that could not be sent
    POST_OPEN = "post-open"  # the copyable 开团 template: always goes out alone
    POST_REMINDER = "post-reminder"
    POST_CLOSE = "post-close"
    POST_PICKUP = "post-pickup"


class Outbox(Base):
    """What the bot sent or will send. dedupe_key makes broadcasts exactly-once.

    A row is pending until a transport reported it: claimed (claimed_by/claimed_until) while
    one process sends it, then sent (sent_at) or, after retries, failed (failed_at). A claim
    never reported expires and the row is sent again: delivery is at-least-once.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        # Only pending rows are looked for, however long the history grows (X3). (Pacing,
        # which read the history by recipient, keeps its own rows: see SendPacing.)
        Index("ix_outbox_due", "created_at", "id",
              postgresql_where=sql_text("sent_at IS NULL AND failed_at IS NULL"),
              sqlite_where=sql_text("sent_at IS NULL AND failed_at IS NULL")),
        Index("ix_outbox_failed", "failed_at",
              postgresql_where=sql_text("failed_at IS NOT NULL"), sqlite_where=sql_text("failed_at IS NOT NULL")),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedupe_key: Mapped[str | None] = mapped_column(String(300), unique=True, nullable=True)
    to: Mapped[str] = mapped_column(String(200))
    is_group: Mapped[bool] = mapped_column(Boolean, default=True)
    text: Mapped[str] = mapped_column(Text)
    mentions: Mapped[list[str]] = mapped_column(JSON, default=list)
    kind: Mapped[str] = mapped_column(String(32), default=OutboxKind.REPLY)  # OutboxKind
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    account: Mapped[str | None] = mapped_column(String(128), nullable=True)  # None: the group's, or any
    image: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # a PNG sent with the text
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # retry backoff
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    claimed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    first_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # given up
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)


class SendPacing(Base):
    """The send budget of one scope ("group:<chat>" or "account:<id>"), shared by every
    process: tat is the GCRA's theoretical arrival time (min interval and burst), recent the
    send times of the last hour (kept only where an hourly cap applies)."""

    __tablename__ = "send_pacing"
    scope: Mapped[str] = mapped_column(String(250), primary_key=True)
    tat: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    recent: Mapped[list[float]] = mapped_column(JSON, default=list)


class ScheduledPost(Base):
    """A post (or the evening summary) due at a time; any process queues it once it is due,
    taking the row with FOR UPDATE SKIP LOCKED, and marks it done in the same transaction."""

    __tablename__ = "scheduled_posts"
    __table_args__ = (
        Index("ix_scheduled_posts_due", "due_at",
              postgresql_where=sql_text("done_at IS NULL"), sqlite_where=sql_text("done_at IS NULL")),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)  # the outbox dedupe key of the post
    kind: Mapped[str] = mapped_column(String(16))  # broadcasts.KINDS or "summary"
    campaign_id: Mapped[str | None] = mapped_column(ForeignKey("campaigns.id"), nullable=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"), nullable=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    planned_at_revision: Mapped[int] = mapped_column(Integer, default=0)  # the set-up it was planned from
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)  # PostOutcome
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)


class SchedulePlan(Base):
    """One row: the set-up revision and day the scheduled posts were last planned for."""

    __tablename__ = "schedule_plan"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, default=-1)
    day: Mapped[str] = mapped_column(String(10), default="")


class SetupRevision(Base):
    """One counter, bumped by every change to the set-up (platform, leaders, groups, campaigns,
    products, prices, 截单): what each process caches of the set-up stays valid while it
    holds (see storage.revision)."""

    __tablename__ = "setup_revision"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class PipelineState(Base):
    """One row the message pipeline shares between processes: a rebuild in progress (live
    processes then only record messages; the rebuild applies them), and the projection's
    epoch, bumped by every rebuild so each process drops the chains it holds in memory."""

    __tablename__ = "pipeline_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rebuild_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    rebuild_by: Mapped[str | None] = mapped_column(String(200), nullable=True)  # host and pid
    epoch: Mapped[int] = mapped_column(Integer, default=0)
