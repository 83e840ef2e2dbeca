"""honest sending: outbox claims, retries, failures, accounts and images; shared pacing;
scheduled posts as rows

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 10:00:00

The outbox marks a row sent only once a transport reported it sent: a row is claimed while one
process sends it, retried with backoff, failed after a limit. Only pending rows are indexed, so
a flush costs the same however long the history is (X3). Pacing budgets live in the database,
so processes serving one account share them. Scheduled posts become rows any process drains
(FOR UPDATE SKIP LOCKED), replacing APScheduler's shared job table, which is dropped: its
jobs are planned again from the campaigns.

Rows pending before this migration stay pending and are sent; rows the old outbox marked sent
stay sent.
"""

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

_PENDING = "sent_at IS NULL AND failed_at IS NULL"


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('account', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('image', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('not_before', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('first_failed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('failed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_error', sa.Text(), nullable=True))
        # Pacing no longer reads the history by recipient; a planner preferred this index
        # (a skip-scan over every recipient) to the partial one below.
        batch_op.drop_index('ix_outbox_to_sent')
        batch_op.create_index('ix_outbox_due', ['created_at', 'id'], unique=False,
                              postgresql_where=sa.text(_PENDING), sqlite_where=sa.text(_PENDING))
        batch_op.create_index('ix_outbox_failed', ['failed_at'], unique=False,
                              postgresql_where=sa.text('failed_at IS NOT NULL'),
                              sqlite_where=sa.text('failed_at IS NOT NULL'))
    with op.batch_alter_table('groups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('account', sa.String(length=128), nullable=True))
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index('ix_messages_private_sender', ['sender_id', 'id'], unique=False,
                              postgresql_where=sa.text('chat_id IS NULL'), sqlite_where=sa.text('chat_id IS NULL'))
    op.create_table('send_pacing',
                    sa.Column('scope', sa.String(length=250), nullable=False),
                    sa.Column('tat', sa.DateTime(timezone=True), nullable=True),
                    sa.Column('recent', sa.JSON(), nullable=False),
                    sa.PrimaryKeyConstraint('scope'))
    op.create_table('scheduled_posts',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('key', sa.String(length=300), nullable=False),
                    sa.Column('kind', sa.String(length=16), nullable=False),
                    sa.Column('campaign_id', sa.String(length=100), nullable=True),
                    sa.Column('group_id', sa.Integer(), nullable=True),
                    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
                    sa.Column('planned_at_revision', sa.Integer(), nullable=False),
                    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
                    sa.Column('outcome', sa.String(length=16), nullable=True),
                    sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'),
                    sa.Column('last_error', sa.Text(), nullable=True),
                    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id']),
                    sa.ForeignKeyConstraint(['group_id'], ['groups.id']),
                    sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint('key'))
    with op.batch_alter_table('scheduled_posts', schema=None) as batch_op:
        batch_op.create_index('ix_scheduled_posts_due', ['due_at'], unique=False,
                              postgresql_where=sa.text('done_at IS NULL'), sqlite_where=sa.text('done_at IS NULL'))
    op.create_table('schedule_plan',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('revision', sa.Integer(), nullable=False),
                    sa.Column('day', sa.String(length=10), nullable=False),
                    sa.PrimaryKeyConstraint('id'))
    # APScheduler's job store, shared by every process (its own documentation forbids that).
    op.execute(sa.text('DROP TABLE IF EXISTS scheduled_jobs'))


def downgrade() -> None:
    op.drop_table('schedule_plan')
    with op.batch_alter_table('scheduled_posts', schema=None) as batch_op:
        batch_op.drop_index('ix_scheduled_posts_due', postgresql_where=sa.text('done_at IS NULL'),
                            sqlite_where=sa.text('done_at IS NULL'))
    op.drop_table('scheduled_posts')
    op.drop_table('send_pacing')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_private_sender', postgresql_where=sa.text('chat_id IS NULL'),
                            sqlite_where=sa.text('chat_id IS NULL'))
    with op.batch_alter_table('groups', schema=None) as batch_op:
        batch_op.drop_column('account')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_failed', postgresql_where=sa.text('failed_at IS NOT NULL'),
                            sqlite_where=sa.text('failed_at IS NOT NULL'))
        batch_op.drop_index('ix_outbox_due', postgresql_where=sa.text(_PENDING), sqlite_where=sa.text(_PENDING))
        batch_op.create_index('ix_outbox_to_sent', ['to', 'sent_at'], unique=False)
        for column in ('last_error', 'failed_at', 'first_failed_at', 'claimed_until', 'claimed_by', 'attempts',
                       'not_before', 'image', 'account'):
            batch_op.drop_column(column)
