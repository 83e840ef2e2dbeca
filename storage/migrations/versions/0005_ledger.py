"""a ledger to reconcile with: order numbers, commission rate history, entry flags, paid marks, held chains

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 10:00:00

Every order gets a number in its campaign's group that never changes (existing orders are
numbered in the order they were first seen, keeping the chain number where it is free); each
order item keeps the commission rate in force when it was ordered, with a rate history so a
rebuild finds the same rate (existing items get the rate in force now, the only one known);
entries keep the parser's flags and the leader's 已付; a chain that fits two open campaigns
waits for the leader with its copies listed.
"""

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

# The numbering rule of storage.orders.next_order_no, frozen here as it was when this ran.
_SEQ_JUMP = 20


def _next_order_no(last: int, seq: int) -> int:
    return seq if last < seq <= last + _SEQ_JUMP else last + 1


def upgrade() -> None:
    op.create_table('commission_rates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('leader_id', sa.String(length=128), nullable=True),
    sa.Column('rate', sa.Numeric(precision=6, scale=4), nullable=True),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['leader_id'], ['leaders.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('commission_rates', schema=None) as batch_op:
        batch_op.create_index('ix_commission_rates_leader', ['leader_id', 'valid_from'], unique=False)
    op.create_table('order_counters',
    sa.Column('campaign_id', sa.String(length=100), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('last_no', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], ),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], ),
    sa.PrimaryKeyConstraint('campaign_id', 'group_id')
    )
    op.create_table('held_messages',
    sa.Column('chain_id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['chain_id'], ['chains.id'], ),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], ),
    sa.PrimaryKeyConstraint('chain_id', 'message_id')
    )
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('order_no', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('flags', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('order_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('commission_rate', sa.Numeric(precision=6, scale=4), nullable=True))
    _start_rate_history()
    _number_orders()


def _start_rate_history() -> None:
    """The rates in force now become the history's first rows, and every existing item gets
    its leader's (else the platform's)."""
    op.execute("INSERT INTO commission_rates (leader_id, rate, valid_from) "
               "SELECT NULL, commission_rate, NULL FROM platform")
    op.execute("INSERT INTO commission_rates (leader_id, rate, valid_from) "
               "SELECT id, commission_rate, NULL FROM leaders")
    op.execute(
        "UPDATE order_items SET commission_rate = COALESCE("
        "(SELECT leaders.commission_rate FROM leaders WHERE leaders.id = order_items.leader_id), "
        "(SELECT platform.commission_rate FROM platform WHERE platform.id = 1), 0.10)")


def _number_orders() -> None:
    """Orders (lines created counted or late, in a campaign's chain) numbered per campaign and
    group in the order they were first seen."""
    connection = op.get_bind()
    created = sa.text(
        "SELECT e.id, c.campaign_id, c.group_id, e.seq FROM entries e JOIN chains c ON c.id = e.chain_id "
        "WHERE c.kind = 'chain' AND c.campaign_id IS NOT NULL AND e.status <> 'review' "
        "AND (SELECT ev.kind FROM entry_events ev WHERE ev.entry_id = e.id ORDER BY ev.id LIMIT 1) "
        "IN ('created', 'late') ORDER BY e.first_seen, e.id")
    last: dict[tuple[str, int], int] = {}
    numbers = []
    for entry_id, campaign_id, group_id, seq in connection.execute(created):
        key = (campaign_id, group_id)
        last[key] = _next_order_no(last.get(key, 0), seq or 0)
        numbers.append({"entry": entry_id, "no": last[key]})
    if numbers:
        connection.execute(sa.text("UPDATE entries SET order_no = :no WHERE id = :entry"), numbers)
    if last:
        connection.execute(
            sa.text("INSERT INTO order_counters (campaign_id, group_id, last_no) VALUES (:campaign, :group, :last)"),
            [{"campaign": c, "group": g, "last": n} for (c, g), n in last.items()])


def downgrade() -> None:
    with op.batch_alter_table('order_items', schema=None) as batch_op:
        batch_op.drop_column('commission_rate')
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.drop_column('paid_at')
        batch_op.drop_column('flags')
        batch_op.drop_column('order_no')
    op.drop_table('held_messages')
    op.drop_table('order_counters')
    with op.batch_alter_table('commission_rates', schema=None) as batch_op:
        batch_op.drop_index('ix_commission_rates_leader')
    op.drop_table('commission_rates')
