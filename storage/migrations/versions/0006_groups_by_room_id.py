"""groups are their room id: room_known, setup_name; rooms by topic; nicknames as TEXT

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 12:00:00

A group the set-up names by topic learns its room id when its room first speaks and is
matched by room id only from then on (D4/P2); `setup_name` lets a reload find it after the
room is renamed. A group whose chat id differs from its name was bound by room id already.
The index answers "which rooms carry this topic" without reading the whole log.

An entry's nickname and address are whatever the parser takes from the line, and a line whose
first word ran past 200 characters failed every later copy of its chain on PostgreSQL (D1):
they become TEXT (on PostgreSQL a catalogue change, no rewrite).
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('groups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('room_known', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('setup_name', sa.String(length=200), nullable=True))
    op.execute("UPDATE groups SET room_known = (chat_id <> name)")
    op.execute("UPDATE groups SET setup_name = chat_id WHERE chat_id = name")
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index('ix_messages_chat_name', ['chat_name', 'chat_id'], unique=False)
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.alter_column('member', type_=sa.Text(), existing_type=sa.String(length=200), existing_nullable=True)
        batch_op.alter_column('address', type_=sa.Text(), existing_type=sa.String(length=200), existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.alter_column('address', type_=sa.String(length=200), existing_type=sa.Text(), existing_nullable=True)
        batch_op.alter_column('member', type_=sa.String(length=200), existing_type=sa.Text(), existing_nullable=True)
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_chat_name')
    with op.batch_alter_table('groups', schema=None) as batch_op:
        batch_op.drop_column('setup_name')
        batch_op.drop_column('room_known')
